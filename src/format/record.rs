//! Domain values (orders, trades, accounts) as stored in WAL entries and SST values.
//!
//! ```text
//!  0         1
//!  +---------+------------------------------------------+
//!  | version | rkyv 0.8 archive of the version's struct  |
//!  | u8 = 1  | (little endian, aligned, 32-bit offsets) |
//!  +---------+------------------------------------------+
//! ```
//!
//! The archive is validated (bytecheck) on every decode, so a damaged value is an error, never
//! undefined behaviour. The structs below are frozen as version 1: a change of layout adds
//! `OrderV2` and a new version byte; version 1 stays decodable (golden fixtures enforce it).
//!
//! Keys follow the seed: `O` + order id, `T` + trade id, `A` + user id, `K` + plain key.

use rkyv::rancor;
use serde::Serialize;

pub const VALUE_VERSION: u8 = 1;

pub const ORDER_PREFIX: u8 = b'O';
pub const TRADE_PREFIX: u8 = b'T';
pub const ACCOUNT_PREFIX: u8 = b'A';
pub const PLAIN_PREFIX: u8 = b'K';

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ValueError {
    #[error("empty value")]
    Empty,
    #[error("value version {0} is newer than this drkit understands (max {VALUE_VERSION})")]
    NewerVersion(u8),
    #[error("archive failed validation: {0}")]
    Invalid(String),
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize,
)]
#[rkyv(derive(Debug))]
#[repr(u8)]
pub enum Side {
    Buy = 0,
    Sell = 1,
}

#[derive(Debug, Clone, PartialEq, Serialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Order {
    pub order_id: String,
    pub user_id: String,
    pub instrument_id: String,
    pub side: Side,
    pub price: f64,
    pub volume: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Trade {
    pub trade_id: String,
    pub order_id: String,
    pub instrument_id: String,
    pub price: f64,
    pub volume: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub struct Account {
    pub user_id: String,
    pub balance: f64,
    pub available: f64,
    pub frozen: f64,
    pub margin: f64,
}

macro_rules! versioned_codec {
    ($ty:ty, $prefix:expr, $id:ident) => {
        impl $ty {
            pub fn key(&self) -> Vec<u8> {
                let mut k = Vec::with_capacity(1 + self.$id.len());
                k.push($prefix);
                k.extend_from_slice(self.$id.as_bytes());
                k
            }

            pub fn encode(&self) -> Vec<u8> {
                let archive = rkyv::to_bytes::<rancor::Error>(self)
                    .expect("serializing plain owned data into a Vec cannot fail");
                let mut out = Vec::with_capacity(1 + archive.len());
                out.push(VALUE_VERSION);
                out.extend_from_slice(&archive);
                out
            }

            pub fn decode(bytes: &[u8]) -> Result<Self, ValueError> {
                let (&version, archive) = bytes.split_first().ok_or(ValueError::Empty)?;
                if version != VALUE_VERSION {
                    return Err(ValueError::NewerVersion(version));
                }
                // The archive sits at offset 1 of an arbitrary slice: copy it into an aligned
                // buffer before validating, as rkyv requires.
                let mut aligned = rkyv::util::AlignedVec::<16>::with_capacity(archive.len());
                aligned.extend_from_slice(archive);
                rkyv::from_bytes::<$ty, rancor::Error>(&aligned)
                    .map_err(|e| ValueError::Invalid(e.to_string()))
            }
        }
    };
}

versioned_codec!(Order, ORDER_PREFIX, order_id);
versioned_codec!(Trade, TRADE_PREFIX, trade_id);
versioned_codec!(Account, ACCOUNT_PREFIX, user_id);

pub fn plain_key(key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + key.len());
    k.push(PLAIN_PREFIX);
    k.extend_from_slice(key);
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn finite() -> impl Strategy<Value = f64> {
        -1e12f64..1e12
    }

    proptest! {
        #[test]
        fn order_round_trip(id in "[a-z0-9]{1,40}", user in "[a-z0-9]{1,32}", inst in "[A-Z-]{1,16}",
                            buy: bool, price in finite(), volume in finite()) {
            let o = Order { order_id: id, user_id: user, instrument_id: inst,
                            side: if buy { Side::Buy } else { Side::Sell }, price, volume };
            prop_assert_eq!(Order::decode(&o.encode()).unwrap(), o);
        }

        #[test]
        fn trade_round_trip(id in "[a-z0-9]{1,40}", oid in "[a-z0-9]{1,40}", inst in ".{0,16}",
                            price in finite(), volume in finite()) {
            let t = Trade { trade_id: id, order_id: oid, instrument_id: inst, price, volume };
            prop_assert_eq!(Trade::decode(&t.encode()).unwrap(), t);
        }

        #[test]
        fn account_round_trip(user in ".{0,32}", b in finite(), a in finite(), f in finite(), m in finite()) {
            let acc = Account { user_id: user, balance: b, available: a, frozen: f, margin: m };
            prop_assert_eq!(Account::decode(&acc.encode()).unwrap(), acc);
        }

        #[test]
        fn arbitrary_bytes_never_panic(bytes: Vec<u8>) {
            let _ = Order::decode(&bytes);
            let _ = Trade::decode(&bytes);
            let _ = Account::decode(&bytes);
        }
    }

    #[test]
    fn newer_value_version_is_refused() {
        let mut v = Account {
            user_id: "u".into(),
            balance: 1.0,
            available: 1.0,
            frozen: 0.0,
            margin: 0.0,
        }
        .encode();
        v[0] = 9;
        assert_eq!(Account::decode(&v), Err(ValueError::NewerVersion(9)));
    }
}
