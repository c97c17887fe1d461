//! The JSON form: how the wire types serialise. Integers, enumerations and bitmaps are numbers;
//! UTCTime is seconds since 2000; octet strings, fixed byte fields, EUI64s and keys are hex
//! strings in wire order; character strings are strings (or `{"hex": …}` when not UTF-8).

extern crate alloc;

use crate::wire::{ByteString, Bytes, CharString, Field, OctetString, Records, RestBytes};
use crate::zcl::general::{AttrValue, DataType, Encoding, Value};
use crate::zcl::header::{Direction, FrameType, Header};
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use serde::de::{Deserializer, Error as _};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

struct Hex<'a>(&'a [u8]);

impl fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

fn from_hex(s: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = s
        .bytes()
        .filter(|b| !matches!(b, b' ' | b':' | b'-'))
        .collect();
    if !digits.len().is_multiple_of(2) {
        return Err(alloc::format!(
            "hex string {s:?} has an odd number of digits"
        ));
    }
    digits
        .chunks(2)
        .map(|pair| {
            let text =
                core::str::from_utf8(pair).map_err(|_| alloc::format!("bad hex in {s:?}"))?;
            u8::from_str_radix(text, 16)
                .map_err(|_| alloc::format!("bad hex digits {text:?} in {s:?}"))
        })
        .collect()
}

fn hex_field<'de, D: Deserializer<'de>, const N: usize>(d: D) -> Result<ByteString<N>, D::Error> {
    let text = String::deserialize(d)?;
    let bytes = from_hex(&text).map_err(D::Error::custom)?;
    ByteString::new(&bytes).map_err(|_| {
        D::Error::custom(alloc::format!(
            "{} bytes given, at most {N} fit",
            bytes.len()
        ))
    })
}

macro_rules! hex_string_serde {
    ($($t:ident),*) => {$(
        impl<const N: usize> Serialize for $t<N> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(&Hex(self.as_bytes()))
            }
        }
        impl<'de, const N: usize> Deserialize<'de> for $t<N> {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                hex_field(d).map($t)
            }
        }
    )*};
}
hex_string_serde!(RestBytes);

impl<const N: usize> Serialize for OctetString<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(b) => s.collect_str(&Hex(b.as_bytes())),
            None => serialize_invalid(s),
        }
    }
}

impl<'de, const N: usize> Deserialize<'de> for OctetString<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match TextJson::deserialize(d)? {
            TextJson::Invalid { invalid: true } => Ok(OctetString(None)),
            TextJson::Text(text) => {
                let bytes = from_hex(&text).map_err(D::Error::custom)?;
                OctetString::new(&bytes).map_err(|_| {
                    D::Error::custom(alloc::format!(
                        "{} bytes given, at most {N} fit",
                        bytes.len()
                    ))
                })
            }
            _ => Err(D::Error::custom(
                "an octet string is a hex string, or {\"invalid\": true}",
            )),
        }
    }
}

impl<const N: usize> Serialize for Bytes<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&Hex(&self.0))
    }
}

impl<'de, const N: usize> Deserialize<'de> for Bytes<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = hex_field::<D, N>(d)?;
        let mut out = [0; N];
        if bytes.as_bytes().len() != N {
            return Err(D::Error::custom(alloc::format!(
                "{} bytes given, exactly {N} needed",
                bytes.as_bytes().len()
            )));
        }
        out.copy_from_slice(bytes.as_bytes());
        Ok(Bytes(out))
    }
}

/// Text as a string when it is UTF-8, else `{"hex": "…"}`.
fn serialize_text<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    match core::str::from_utf8(bytes) {
        Ok(text) => s.serialize_str(text),
        Err(_) => {
            let mut map = s.serialize_map(Some(1))?;
            map.serialize_entry("hex", &alloc::format!("{}", Hex(bytes)))?;
            map.end()
        }
    }
}

/// The invalid string (length 0xFF / 0xFFFF on the wire) is `{"invalid": true}`.
fn serialize_invalid<S: Serializer>(s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(1))?;
    map.serialize_entry("invalid", &true)?;
    map.end()
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TextJson {
    Text(String),
    Hex { hex: String },
    Invalid { invalid: bool },
}

impl TextJson {
    fn into_bytes(self) -> Result<Vec<u8>, String> {
        match self {
            TextJson::Text(text) => Ok(text.into_bytes()),
            TextJson::Hex { hex } => from_hex(&hex),
            TextJson::Invalid { .. } => Err(String::from(
                "{\"invalid\": true} is the only form of the invalid string",
            )),
        }
    }
}

impl<const N: usize> Serialize for CharString<N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Some(b) => serialize_text(b.as_bytes(), s),
            None => serialize_invalid(s),
        }
    }
}

impl<'de, const N: usize> Deserialize<'de> for CharString<N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let bytes = match TextJson::deserialize(d)? {
            TextJson::Invalid { invalid: true } => return Ok(CharString(None)),
            text => text.into_bytes().map_err(D::Error::custom)?,
        };
        CharString::new(&bytes).map_err(|_| {
            D::Error::custom(alloc::format!(
                "{} bytes of text, at most {N} fit",
                bytes.len()
            ))
        })
    }
}

impl<T: Field + Serialize, const N: usize> Serialize for Records<T, N> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for item in self.iter() {
            seq.serialize_element(&item)?;
        }
        seq.end()
    }
}

impl<'de, T: Field + Deserialize<'de>, const N: usize> Deserialize<'de> for Records<T, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let items = Vec::<T>::deserialize(d)?;
        Records::from_items(items.iter()).map_err(D::Error::custom)
    }
}

impl Serialize for AttrValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Text<'a>(&'a [u8]);
        impl Serialize for Text<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                serialize_text(self.0, s)
            }
        }
        let mut map = s.serialize_map(Some(2))?;
        map.serialize_entry("type", &u8::from(self.data_type))?;
        match &self.value {
            Value::Unsigned(v) => map.serialize_entry("value", v)?,
            Value::Signed(v) => map.serialize_entry("value", v)?,
            Value::Bytes(b) if is_text(self.data_type) => {
                map.serialize_entry("value", &Text(b.as_bytes()))?
            }
            Value::Bytes(b) => {
                map.serialize_entry("value", &alloc::format!("{}", Hex(b.as_bytes())))?
            }
            Value::InvalidString => map.serialize_entry("value", &Invalid)?,
        }
        map.end()
    }
}

struct Invalid;

impl Serialize for Invalid {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        serialize_invalid(s)
    }
}

fn is_text(data_type: DataType) -> bool {
    matches!(data_type, DataType::CharString | DataType::LongCharString)
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ValueJson {
    Unsigned(u64),
    Signed(i64),
    Text(TextJson),
}

impl<'de> Deserialize<'de> for AttrValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Json {
            #[serde(rename = "type")]
            data_type: u8,
            value: ValueJson,
        }
        let Json { data_type, value } = Json::deserialize(d)?;
        let data_type = DataType::from(data_type);
        let mismatch = || {
            D::Error::custom(alloc::format!(
                "value does not suit data type 0x{:02x}",
                u8::from(data_type)
            ))
        };
        let value = match (data_type.encoding(), value) {
            (Encoding::Unsigned(_), ValueJson::Unsigned(v)) => Value::Unsigned(v),
            (Encoding::Signed(_), ValueJson::Unsigned(v)) => {
                Value::Signed(i64::try_from(v).map_err(|_| mismatch())?)
            }
            (Encoding::Signed(_), ValueJson::Signed(v)) => Value::Signed(v),
            (Encoding::Prefixed(_), ValueJson::Text(TextJson::Invalid { invalid: true })) => {
                Value::InvalidString
            }
            (Encoding::Bytes(_) | Encoding::Prefixed(_), ValueJson::Text(text)) => {
                let bytes = match (is_text(data_type), text) {
                    (true, text) => text.into_bytes(),
                    (false, TextJson::Text(hex)) => from_hex(&hex),
                    (false, TextJson::Hex { .. } | TextJson::Invalid { .. }) => {
                        Err(String::from("octet values are plain hex strings"))
                    }
                }
                .map_err(D::Error::custom)?;
                Value::Bytes(ByteString::new(&bytes).map_err(D::Error::custom)?)
            }
            (Encoding::Unsupported, _) => {
                return Err(D::Error::custom(alloc::format!(
                    "data type 0x{:02x} is not supported",
                    u8::from(data_type)
                )));
            }
            _ => return Err(mismatch()),
        };
        Ok(AttrValue { data_type, value })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeaderJson {
    frame_type: u8,
    manufacturer_code: Option<u16>,
    direction: u8,
    disable_default_response: bool,
    reserved: u8,
    tsn: u8,
    command_id: u8,
}

impl Serialize for Header {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        HeaderJson {
            frame_type: u8::from(self.frame_type),
            manufacturer_code: self.manufacturer_code,
            direction: match self.direction {
                Direction::ClientToServer => 0,
                Direction::ServerToClient => 1,
            },
            disable_default_response: self.disable_default_response,
            reserved: self.reserved,
            tsn: self.tsn,
            command_id: self.command_id,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Header {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let h = HeaderJson::deserialize(d)?;
        if h.frame_type > 3 {
            return Err(D::Error::custom(
                "header.frame_type must be 0 (general) or 1 (cluster-specific), 2 or 3 reserved",
            ));
        }
        if h.reserved > 7 {
            return Err(D::Error::custom(
                "header.reserved holds frame-control bits 5-7: 0 to 7",
            ));
        }
        let direction = match h.direction {
            0 => Direction::ClientToServer,
            1 => Direction::ServerToClient,
            _ => {
                return Err(D::Error::custom(
                    "header.direction must be 0 (client to server) or 1 (server to client)",
                ));
            }
        };
        Ok(Header {
            frame_type: FrameType::from(h.frame_type),
            manufacturer_code: h.manufacturer_code,
            direction,
            disable_default_response: h.disable_default_response,
            reserved: h.reserved,
            tsn: h.tsn,
            command_id: h.command_id,
        })
    }
}
