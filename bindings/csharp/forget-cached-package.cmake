# Removes extracted copies of SFTPKit ${VERSION} from the NuGet global packages folder and from
# ${EXTRA} (the tests' private folder), so a package rebuilt with the same version is restored anew.
set(folders "${EXTRA}")
if(DEFINED ENV{NUGET_PACKAGES})
  list(APPEND folders "$ENV{NUGET_PACKAGES}")
elseif(DEFINED ENV{HOME})
  list(APPEND folders "$ENV{HOME}/.nuget/packages")
endif()
foreach(f IN LISTS folders)
  if(f AND EXISTS "${f}/sftpkit/${VERSION}")
    file(REMOVE_RECURSE "${f}/sftpkit/${VERSION}")
  endif()
endforeach()
