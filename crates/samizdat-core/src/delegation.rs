//! An identity's word that a node reads its sealed records: a signature
//! by the identity over `samizdat:reads-for:<node key hex>`, carried in
//! the node's NIP-42 `AUTH` as a `reads-for` tag. The signed text is
//! samizdat's own, so the token means nothing else anywhere (it is not a
//! NIP-26 delegation, which would let the node publish as the identity).
//! A relay that checks it
//! hands the node the gift wraps addressed to the identity, as it would
//! hand them to the identity itself: a documenter's node receives what
//! witnesses sealed for the documenter without any `carriers` list.
//!
//! The token is signed once, when the identity's secret is at hand
//! (`id new`, the console's unlock), and kept beside the node key; it
//! grants reading sealed records (which stay encrypted to the identity)
//! and nothing else.

use nostr::prelude::{Keys, PublicKey};
use secp256k1::{Secp256k1, VerifyOnly, XOnlyPublicKey, schnorr};
use sha2::{Digest, Sha256};

/// The tag's name.
pub const TAG: &str = "reads-for";

/// An identity's token for one node key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadsFor {
    /// The identity whose sealed records the node may carry to it.
    pub reader: PublicKey,
    /// The node key it vouches for.
    pub node: PublicKey,
    sig: [u8; 64],
}

fn digest(node: &PublicKey) -> [u8; 32] {
    Sha256::digest(format!("samizdat:reads-for:{}", node.to_hex())).into()
}

impl ReadsFor {
    /// `identity` vouches that `node` reads its sealed records.
    pub fn sign(identity: &Keys, node: &PublicKey) -> ReadsFor {
        let sig = identity.sign_schnorr(digest(node));
        ReadsFor {
            reader: identity.public_key(),
            node: *node,
            sig: *sig.as_bytes(),
        }
    }

    /// The tag an `AUTH` event of `node` carries:
    /// `["reads-for", <reader>, <signature>]`.
    pub fn to_tag(&self) -> Vec<String> {
        vec![TAG.into(), self.reader.to_hex(), hex::encode(self.sig)]
    }

    /// The token a tag holds for `node`, if it is one and its signature
    /// holds.
    pub fn from_tag(tag: &[String], node: &PublicKey) -> Option<ReadsFor> {
        let [name, reader, sig] = tag else {
            return None;
        };
        if name != TAG {
            return None;
        }
        let reader = PublicKey::from_hex(reader).ok()?;
        let mut bytes = [0u8; 64];
        hex::decode_to_slice(sig, &mut bytes).ok()?;
        let token = ReadsFor {
            reader,
            node: *node,
            sig: bytes,
        };
        token.holds().then_some(token)
    }

    /// Whether the reader signed this token for this node.
    pub fn holds(&self) -> bool {
        static SECP: std::sync::LazyLock<Secp256k1<VerifyOnly>> =
            std::sync::LazyLock::new(Secp256k1::verification_only);
        let Ok(key) = XOnlyPublicKey::from_byte_array(&self.reader.to_bytes()) else {
            return false;
        };
        let sig = schnorr::Signature::from_byte_array(self.sig);
        SECP.verify_schnorr(&sig, &digest(&self.node), &key).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_holds_for_its_node_only() {
        let documenter = Keys::generate();
        let node = Keys::generate().public_key();
        let other = Keys::generate().public_key();
        let token = ReadsFor::sign(&documenter, &node);
        let tag = token.to_tag();
        assert_eq!(ReadsFor::from_tag(&tag, &node), Some(token.clone()));
        assert_eq!(ReadsFor::from_tag(&tag, &other), None);
        let mut forged = tag.clone();
        forged[1] = Keys::generate().public_key().to_hex();
        assert_eq!(ReadsFor::from_tag(&forged, &node), None);
        let mut renamed = tag;
        renamed[0] = "delegation".into();
        assert_eq!(ReadsFor::from_tag(&renamed, &node), None);
    }
}
