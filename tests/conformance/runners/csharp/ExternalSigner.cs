using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace SFTPKit.Conformance;

/// <summary>The `external_signer` behaviour: on_external_sign signed with the platform's crypto.
/// ECDSA and RSA use System.Security.Cryptography (SignHash: the event hands over the digest).
/// .NET has no Ed25519 API, so Ed25519 is signed by calling the system's libcrypto directly
/// (which is what .NET's own crypto runs on, on Linux).</summary>
sealed class ExternalSigner
{
    private readonly JsonElement _keys;
    private readonly CaseContext _ctx;

    public ExternalSigner(JsonElement spec, CaseContext ctx)
    {
        _keys = spec.GetProperty("keys");
        _ctx = ctx;
    }

    public void Handle(SFTPKitEventArgs e)
    {
        if (e is not ExternalSignEventArgs s) return;
        string keyId = s.OperationId.Substring(s.OperationId.IndexOf(':') + 1);
        if (!_keys.TryGetProperty(keyId, out var spec)) throw new CaseFailure($"external_signer: no key {keyId}");
        string pem = File.ReadAllText((string)Values.Eval(spec, _ctx));
        string pars = Encoding.ASCII.GetString(Convert.FromHexString(s.Pars));
        string scheme = pars.Substring(pars.IndexOf(';') + 1);
        byte[] data = Convert.FromHexString(s.Data);
        byte[] sig;
        switch (scheme)
        {
            case "ecdsa-der":
                using (var ec = ECDsa.Create())
                {
                    ec.ImportFromPem(pem);
                    sig = ec.SignHash(data, DSASignatureFormat.Rfc3279DerSequence);
                }
                break;
            case "rsa-pkcs1v15":
                using (var rsa = RSA.Create())
                {
                    rsa.ImportFromPem(pem);
                    sig = rsa.SignHash(data, new HashAlgorithmName(s.HashAlgorithm), RSASignaturePadding.Pkcs1);
                }
                break;
            case "ed25519":
                sig = LibCrypto.SignEd25519(pem, data);
                break;
            default:
                throw new CaseFailure($"external_signer: unknown scheme {scheme}");
        }
        s.SignedData = Convert.ToHexString(sig).ToLowerInvariant();
    }

    /// <summary>Ed25519 through libcrypto (EVP_DigestSign), for want of a .NET API.</summary>
    static class LibCrypto
    {
        const string Lib = "libcrypto.so.3";
        [DllImport(Lib)] static extern IntPtr BIO_new_mem_buf(byte[] buf, int len);
        [DllImport(Lib)] static extern int BIO_free(IntPtr bio);
        [DllImport(Lib)] static extern IntPtr PEM_read_bio_PrivateKey(IntPtr bio, IntPtr x, IntPtr cb, IntPtr u);
        [DllImport(Lib)] static extern void EVP_PKEY_free(IntPtr key);
        [DllImport(Lib)] static extern IntPtr EVP_MD_CTX_new();
        [DllImport(Lib)] static extern void EVP_MD_CTX_free(IntPtr ctx);
        [DllImport(Lib)] static extern int EVP_DigestSignInit(IntPtr ctx, IntPtr pctx, IntPtr md, IntPtr engine, IntPtr key);
        [DllImport(Lib)] static extern int EVP_DigestSign(IntPtr ctx, byte[] sig, ref UIntPtr siglen, byte[] tbs, UIntPtr tbslen);

        public static byte[] SignEd25519(string pem, byte[] data)
        {
            byte[] text = Encoding.ASCII.GetBytes(pem);
            IntPtr bio = BIO_new_mem_buf(text, text.Length);
            IntPtr key = PEM_read_bio_PrivateKey(bio, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero);
            BIO_free(bio);
            if (key == IntPtr.Zero) throw new CaseFailure("external_signer: libcrypto cannot read the Ed25519 key");
            IntPtr ctx = EVP_MD_CTX_new();
            try
            {
                var sig = new byte[64];
                var len = (UIntPtr)64;
                if (EVP_DigestSignInit(ctx, IntPtr.Zero, IntPtr.Zero, IntPtr.Zero, key) != 1 ||
                    EVP_DigestSign(ctx, sig, ref len, data, (UIntPtr)data.Length) != 1 || (ulong)len != 64)
                    throw new CaseFailure("external_signer: libcrypto Ed25519 signing failed");
                return sig;
            }
            finally
            {
                EVP_MD_CTX_free(ctx);
                EVP_PKEY_free(key);
            }
        }
    }
}
