//! SCRAM channel binding (`tls-server-end-point`, RFC 5929): the hash of
//! the server's certificate, with the hash of its signature algorithm
//! (SHA-256 where that is MD5 or SHA-1), as the server computes it.

use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// The `tls-server-end-point` value of a DER certificate; `None` when its
/// signature algorithm names no hash (Ed25519), where the server offers no
/// channel binding either.
pub(crate) fn end_point(cert: &[u8]) -> Option<Vec<u8>> {
    Some(match signature_hash(cert)? {
        Hash::Sha224 => Sha224::digest(cert).to_vec(),
        Hash::Sha256 => Sha256::digest(cert).to_vec(),
        Hash::Sha384 => Sha384::digest(cert).to_vec(),
        Hash::Sha512 => Sha512::digest(cert).to_vec(),
    })
}

#[derive(Debug, PartialEq, Eq)]
enum Hash {
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// The hash of `Certificate.signatureAlgorithm`.
fn signature_hash(cert: &[u8]) -> Option<Hash> {
    // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm
    // AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY }, … }
    let (body, _) = der(cert, 0x30)?;
    let (_, after_tbs) = der(body, 0x30)?;
    let (algorithm, _) = der(after_tbs, 0x30)?;
    let (oid, params) = der(algorithm, 0x06)?;
    const RSA: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    const ECDSA: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    if oid == ECDSA_SHA1 {
        return Some(Hash::Sha256);
    }
    let last = *oid.last()?;
    if oid.len() == RSA.len() + 1 && oid.starts_with(RSA) {
        return match last {
            // md2, md5 and sha1 WithRSAEncryption: SHA-256 (RFC 5929 4.1)
            0x02 | 0x04 | 0x05 | 0x0b => Some(Hash::Sha256),
            0x0e => Some(Hash::Sha224),
            0x0c => Some(Hash::Sha384),
            0x0d => Some(Hash::Sha512),
            // RSASSA-PSS: the hash is in the parameters.
            0x0a => pss_hash(params),
            _ => None,
        };
    }
    if oid.len() == ECDSA.len() + 1 && oid.starts_with(ECDSA) {
        return match last {
            0x01 => Some(Hash::Sha224),
            0x02 => Some(Hash::Sha256),
            0x03 => Some(Hash::Sha384),
            0x04 => Some(Hash::Sha512),
            _ => None,
        };
    }
    None
}

/// The hash of RSASSA-PSS parameters: `[0] HashAlgorithm` (SHA-1 when
/// absent, which counts as SHA-256).
fn pss_hash(params: &[u8]) -> Option<Hash> {
    let Some((seq, _)) = der(params, 0x30) else {
        return Some(Hash::Sha256);
    };
    let Some((explicit, _)) = der(seq, 0xa0) else {
        return Some(Hash::Sha256);
    };
    let (alg, _) = der(explicit, 0x30)?;
    let (oid, _) = der(alg, 0x06)?;
    const SHA2: &[u8] = &[0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02];
    match oid.strip_prefix(SHA2) {
        Some([0x02]) => Some(Hash::Sha384),
        Some([0x03]) => Some(Hash::Sha512),
        Some([0x04]) => Some(Hash::Sha224),
        _ => Some(Hash::Sha256),
    }
}

/// One DER element with tag `tag` at the start of `input`: its contents
/// and what follows it.
fn der(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = input.split_first()?;
    if first != tag {
        return None;
    }
    let (&len0, rest) = rest.split_first()?;
    let (len, rest) = if len0 < 0x80 {
        (usize::from(len0), rest)
    } else {
        let n = usize::from(len0 & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    Some(rest.split_at(len))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cert_with(algorithm: &[u8]) -> Vec<u8> {
        // SEQUENCE { SEQUENCE {} (tbs), SEQUENCE { algorithm }, BIT STRING }
        let mut alg = vec![0x30, algorithm.len() as u8];
        alg.extend_from_slice(algorithm);
        let mut body = vec![0x30, 0x00];
        body.extend(alg);
        body.extend([0x03, 0x01, 0x00]);
        let mut cert = vec![0x30, body.len() as u8];
        cert.extend(body);
        cert
    }

    #[test]
    fn the_hash_follows_the_signature_algorithm() {
        let oid = |bytes: &[u8]| {
            let mut v = vec![0x06, bytes.len() as u8];
            v.extend_from_slice(bytes);
            v
        };
        let rsa = |last: u8| oid(&[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, last]);
        let ecdsa = |last: u8| oid(&[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, last]);
        assert_eq!(signature_hash(&cert_with(&rsa(0x05))), Some(Hash::Sha256));
        assert_eq!(signature_hash(&cert_with(&rsa(0x0b))), Some(Hash::Sha256));
        assert_eq!(signature_hash(&cert_with(&rsa(0x0c))), Some(Hash::Sha384));
        assert_eq!(signature_hash(&cert_with(&rsa(0x0d))), Some(Hash::Sha512));
        assert_eq!(signature_hash(&cert_with(&ecdsa(0x02))), Some(Hash::Sha256));
        assert_eq!(signature_hash(&cert_with(&ecdsa(0x03))), Some(Hash::Sha384));
        // Ed25519 names no hash.
        assert_eq!(signature_hash(&cert_with(&oid(&[0x2b, 0x65, 0x70]))), None);
        assert_eq!(signature_hash(b"not DER"), None);
        let der = cert_with(&ecdsa(0x03));
        assert_eq!(end_point(&der), Some(Sha384::digest(&der).to_vec()));
    }
}
