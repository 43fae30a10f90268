package org.sftpkit.conformance;

import java.io.IOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.Map;
import org.sftpkit.SFTPKitEvent;

/** The "external_signer" behaviour: on_external_sign signed with java.security (FORMAT.md). */
final class ExternalSigner {
    /** DigestInfo prefixes: NONEwithRSA signs exactly what it is given, so the signer adds them. */
    private static final Map<String, String> DIGEST_INFO = Map.of(
            "SHA256", "3031300d060960864801650304020105000420",
            "SHA384", "3041300d060960864801650304020205000430",
            "SHA512", "3051300d060960864801650304020305000440");

    private final Map<String, Object> keys;
    private final Case ctx;

    @SuppressWarnings("unchecked")
    ExternalSigner(Map<String, Object> spec, Case ctx) {
        this.keys = (Map<String, Object>) spec.getOrDefault("keys", Map.of());
        this.ctx = ctx;
    }

    void handle(SFTPKitEvent e, Map<String, Object> p) {
        if (!e.getEventName().equals("on_external_sign")) {
            return;
        }
        String op = EventAccess.getString(p, "operation_id");
        String keyId = op.substring(op.indexOf(':') + 1);
        if (!keys.containsKey(keyId)) {
            throw new CaseError("external_signer: no key " + keyId);
        }
        String pars = new String(unhex(EventAccess.getString(p, "pars")), StandardCharsets.US_ASCII);
        String scheme = pars.substring(pars.indexOf(';') + 1);
        byte[] data = unhex(EventAccess.getString(p, "data"));
        String hash = EventAccess.getString(p, "hash_algorithm");
        try {
            String pem = Files.readString(Path.of((String) Values.eval(keys.get(keyId), ctx)));
            byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
            PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
            byte[] sig;
            switch (scheme) {
                case "ecdsa-der": { // NONEwithECDSA: the digest in, DER out
                    sig = sign("NONEwithECDSA", KeyFactory.getInstance("EC").generatePrivate(spec), data);
                    break;
                }
                case "rsa-pkcs1v15": {
                    String info = DIGEST_INFO.get(hash);
                    if (info == null) {
                        throw new CaseError("external_signer: hash " + hash);
                    }
                    byte[] prefix = unhex(info), in = new byte[prefix.length + data.length];
                    System.arraycopy(prefix, 0, in, 0, prefix.length);
                    System.arraycopy(data, 0, in, prefix.length, data.length);
                    sig = sign("NONEwithRSA", KeyFactory.getInstance("RSA").generatePrivate(spec), in);
                    break;
                }
                case "ed25519": // the raw message
                    sig = sign("Ed25519", KeyFactory.getInstance("Ed25519").generatePrivate(spec), data);
                    break;
                default:
                    throw new CaseError("external_signer: unknown scheme " + scheme);
            }
            EventAccess.set(e, "signed_data", hex(sig));
        } catch (IOException | GeneralSecurityException ex) {
            throw new CaseError("external_signer: " + ex);
        }
    }

    private static byte[] sign(String algorithm, PrivateKey key, byte[] in) throws GeneralSecurityException {
        Signature s = Signature.getInstance(algorithm);
        s.initSign(key);
        s.update(in);
        return s.sign();
    }

    private static byte[] unhex(String s) {
        byte[] out = new byte[s.length() / 2];
        for (int i = 0; i < out.length; i++) {
            out[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return out;
    }

    private static String hex(byte[] b) {
        String h = new BigInteger(1, b).toString(16);
        return "0".repeat(2 * b.length - h.length()) + h;
    }
}
