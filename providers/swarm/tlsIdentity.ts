// A generated TLS identity for `Secret.generate.tls`: a self-signed RSA 2048 certificate (its own
// trust anchor) with the given DNS names, and its private key, as one PEM text (certificate, then
// key). Every endpoint of one trust domain mounts the same secret as its certificate, its key and
// its CA file: the peers trust exactly this certificate and nothing else. Made by the provider and
// handed only to Docker, like a generated password.
import { generateKeyPairSync, randomBytes } from "crypto";
import * as forge from "node-forge";

export interface TlsIdentitySpec {
    /** Subject CN (what a TLS server authorizes clients by, e.g. pgBackRest's tls-server-auth). */
    commonName: string;
    /** Subject alternative names (what a client checks the server's name against). */
    dnsNames: string[];
    /** Validity in days. @default - 3650 */
    days?: number;
}

const DNS_RE = /^(?:\*\.)?[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** Problems of a spec, each with the value and the fix. */
export function tlsSpecProblems(spec: unknown): string[] {
    const s = spec as Partial<TlsIdentitySpec> | undefined;
    const out: string[] = [];
    if (!s || typeof s.commonName !== "string" || !/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/.test(s.commonName)) {
        out.push(`generate.tls.commonName must be a name of letters, digits and - _ . (at most 64), got ${JSON.stringify(s?.commonName)}`);
    }
    if (!s || !Array.isArray(s.dnsNames) || s.dnsNames.length === 0) out.push(`generate.tls.dnsNames must list the host names the certificate serves, got ${JSON.stringify(s?.dnsNames)}`);
    else for (const d of s.dnsNames) if (typeof d !== "string" || !DNS_RE.test(d)) out.push(`generate.tls.dnsNames: ${JSON.stringify(d)} is not a DNS name; fix: use the service name clients connect to (or *.<domain> for every host of a domain)`);
    if (s?.days !== undefined && (!Number.isInteger(s.days) || s.days < 1 || s.days > 36500)) out.push(`generate.tls.days must be a whole number of days from 1 to 36500, got ${JSON.stringify(s.days)}`);
    return out;
}

/** The PEM text: the certificate, then the PKCS#8 private key. */
export function generateTlsIdentity(spec: TlsIdentitySpec): string {
    // The key from Node's own crypto (OpenSSL), the certificate from node-forge.
    const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
    const key = forge.pki.privateKeyFromPem(keyPem);
    const cert = forge.pki.createCertificate();
    cert.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
    // A positive serial of 128 random bits.
    cert.serialNumber = "01" + randomBytes(16).toString("hex");
    cert.validity.notBefore = new Date(Date.now() - 5 * 60_000);
    cert.validity.notAfter = new Date(cert.validity.notBefore.getTime() + (spec.days ?? 3650) * 86_400_000);
    const subject = [{ name: "commonName", value: spec.commonName }];
    cert.setSubject(subject);
    cert.setIssuer(subject);
    cert.setExtensions([
        // Its own trust anchor (what `openssl req -x509` makes), for servers and clients alike.
        { name: "basicConstraints", cA: true, critical: true },
        { name: "keyUsage", digitalSignature: true, keyEncipherment: true, keyCertSign: true, critical: true },
        { name: "extKeyUsage", serverAuth: true, clientAuth: true },
        { name: "subjectAltName", altNames: spec.dnsNames.map((value) => ({ type: 2, value })) },
        { name: "subjectKeyIdentifier" },
    ]);
    cert.sign(key, forge.md.sha256.create());
    return `${forge.pki.certificateToPem(cert)}${keyPem}`;
}
