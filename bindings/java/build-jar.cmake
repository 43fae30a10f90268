# cmake -P script: compiles the Java sources and packs the jars (run by bindings/java/CMakeLists.txt).
# In: JAVAC JAR JAVADOC VERSION PLATFORM OUT SOURCE_DIRS (list) NATIVES POM.
# Out: OUT/sftpkit.jar (classes + natives/PLATFORM/*), OUT/sftpkit-sources.jar, OUT/sftpkit-javadoc.jar,
# OUT/sftpkit.pom. Sources are globbed here, at build time, because the generated and SWIG file
# sets follow the spec.
cmake_minimum_required(VERSION 3.18)

function(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    list(GET ARGN 0 tool)
    message(FATAL_ERROR "${tool} failed (${rc})")
  endif()
endfunction()

set(sources)
foreach(dir ${SOURCE_DIRS})
  file(GLOB_RECURSE s ${dir}/*.java)
  list(APPEND sources ${s})
endforeach()
list(SORT sources)
set(work ${OUT}/work)
file(REMOVE_RECURSE ${work})
file(MAKE_DIRECTORY ${work}/classes ${work}/src ${work}/javadoc)
string(REPLACE ";" "\n" argfile "${sources}")
file(WRITE ${work}/sources.txt "${argfile}\n")

# Classes. -Xlint stays on; SWIG's code is warning-free for this interface.
run(${JAVAC} --release 17 -encoding UTF-8 -Xlint:all -Werror -g -d ${work}/classes @${work}/sources.txt)

# Natives inside the jar, next to the classes.
file(COPY ${NATIVES}/${PLATFORM} DESTINATION ${work}/classes/natives)

file(WRITE ${work}/MANIFEST.MF
  "Implementation-Title: sftpkit\n"
  "Implementation-Version: ${VERSION}\n"
  "Implementation-Vendor: sftpkit\n"
  "Automatic-Module-Name: org.sftpkit\n")
file(REMOVE ${OUT}/sftpkit.jar)
run(${JAR} --create --file ${OUT}/sftpkit.jar --manifest ${work}/MANIFEST.MF -C ${work}/classes .)

# Sources jar: every source that went into the classes, in package layout.
foreach(f ${sources})
  file(COPY ${f} DESTINATION ${work}/src/org/sftpkit)
endforeach()
file(REMOVE ${OUT}/sftpkit-sources.jar)
run(${JAR} --create --file ${OUT}/sftpkit-sources.jar -C ${work}/src .)

# Javadoc of the public API (package-private SWIG and glue classes are not part of it).
run(${JAVADOC} -quiet -encoding UTF-8 -docencoding UTF-8 -charset UTF-8 --release 17 -Xdoclint:all -Xwerror
    -windowtitle "sftpkit ${VERSION} Java API" -doctitle "sftpkit ${VERSION} Java API"
    -d ${work}/javadoc -sourcepath ${work}/src org.sftpkit)
file(REMOVE ${OUT}/sftpkit-javadoc.jar)
run(${JAR} --create --file ${OUT}/sftpkit-javadoc.jar -C ${work}/javadoc .)

configure_file(${POM} ${OUT}/sftpkit.pom COPYONLY)
