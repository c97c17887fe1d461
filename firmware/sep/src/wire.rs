//! Byte-level reading and writing shared by every layout, and the field types that layouts are
//! made of.
//!
//! Rule: a [`Reader`] never panics and never reads past its input; every accessor returns
//! [`Error::Truncated`] naming the field and its offset instead. A [`Writer`] never writes past
//! its buffer. Multi-byte integers are little-endian.

use crate::error::{Error, Result};
use nom::IResult;
use nom::number::complete as num;

/// A nom number parser over bytes, with errors carrying nothing (ours carry the field).
type NomParser<'a, T> = fn(&'a [u8]) -> IResult<&'a [u8], T, ()>;

/// Reads fields from a byte slice, tracking the offset for error messages.
#[derive(Debug)]
pub struct Reader<'a> {
    input: &'a [u8],
    offset: usize,
}

// Each method reads the type it is named after; `field` names it in errors.
#[allow(missing_docs)]
impl<'a> Reader<'a> {
    /// A reader whose first byte sits at `offset` in the outer buffer.
    pub fn new(input: &'a [u8], offset: usize) -> Self {
        Reader { input, offset }
    }

    pub fn offset(&self) -> usize {
        self.offset
    }

    pub fn remaining(&self) -> usize {
        self.input.len()
    }

    fn run<T>(
        &mut self,
        field: &'static str,
        needed: usize,
        parser: NomParser<'a, T>,
    ) -> Result<T> {
        match parser(self.input) {
            Ok((rest, value)) => {
                self.offset += self.input.len() - rest.len();
                self.input = rest;
                Ok(value)
            }
            Err(_) => Err(self.truncated(field, needed)),
        }
    }

    pub fn truncated(&self, field: &'static str, needed: usize) -> Error {
        Error::Truncated {
            field,
            offset: self.offset,
            needed,
            available: self.input.len(),
        }
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8> {
        self.run(field, 1, num::le_u8)
    }
    pub fn u16(&mut self, field: &'static str) -> Result<u16> {
        self.run(field, 2, num::le_u16)
    }
    pub fn u24(&mut self, field: &'static str) -> Result<u32> {
        self.run(field, 3, num::le_u24)
    }
    pub fn u32(&mut self, field: &'static str) -> Result<u32> {
        self.run(field, 4, num::le_u32)
    }

    /// Little-endian unsigned integer of `len` (1..=8) bytes.
    pub fn uint(&mut self, field: &'static str, len: usize) -> Result<u64> {
        let bytes = self.take(field, len)?;
        Ok(bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
    }

    /// Exactly `len` bytes.
    pub fn take(&mut self, field: &'static str, len: usize) -> Result<&'a [u8]> {
        let taken: IResult<&'a [u8], &'a [u8], ()> = nom::bytes::complete::take(len)(self.input);
        match taken {
            Ok((rest, bytes)) => {
                self.offset += len;
                self.input = rest;
                Ok(bytes)
            }
            Err(_) => Err(self.truncated(field, len)),
        }
    }

    /// Everything that is left.
    pub fn rest(&mut self) -> &'a [u8] {
        let rest = self.input;
        self.offset += rest.len();
        self.input = &[];
        rest
    }

    /// Fails unless the input is used up.
    pub fn finish(&self) -> Result<()> {
        if self.input.is_empty() {
            Ok(())
        } else {
            Err(Error::TrailingBytes {
                offset: self.offset,
                count: self.input.len(),
            })
        }
    }
}

/// Writes fields into a byte buffer.
#[derive(Debug)]
pub struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
    /// Offset of `buf[0]` in the frame, for error messages.
    base: usize,
    /// Set once an optional field was absent: no later optional field may be present.
    optional_closed: bool,
}

// Each method writes the type it is named after.
#[allow(missing_docs)]
impl<'a> Writer<'a> {
    pub fn new(buf: &'a mut [u8]) -> Self {
        Self::at(buf, 0)
    }

    /// A writer whose first byte sits at `base` in the frame.
    pub fn at(buf: &'a mut [u8], base: usize) -> Self {
        Writer {
            buf,
            pos: 0,
            base,
            optional_closed: false,
        }
    }

    /// Offset of the next byte in the frame.
    pub fn position(&self) -> usize {
        self.base + self.pos
    }

    pub fn bytes(&mut self, bytes: &[u8]) -> Result<()> {
        let end = self.pos + bytes.len();
        let available = self.buf.len();
        match self.buf.get_mut(self.pos..end) {
            Some(dst) => {
                dst.copy_from_slice(bytes);
                self.pos = end;
                Ok(())
            }
            None => Err(Error::BufferTooSmall {
                needed: self.base + end,
                available: self.base + available,
            }),
        }
    }

    pub fn u8(&mut self, v: u8) -> Result<()> {
        self.bytes(&[v])
    }
    pub fn u16(&mut self, v: u16) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    pub fn u32(&mut self, v: u32) -> Result<()> {
        self.bytes(&v.to_le_bytes())
    }
    /// The low `len` bytes of `v`, little-endian.
    pub fn uint(&mut self, v: u64, len: usize) -> Result<()> {
        let bytes = v.to_le_bytes();
        self.bytes(bytes.get(..len).unwrap_or(&bytes))
    }
}

/// A fixed or self-delimiting piece of a command layout: every field type and every layout
/// implements it.
pub trait Field: Sized {
    /// Reads the field named `name`.
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self>;
    /// Writes the field named `name`.
    fn write(&self, w: &mut Writer<'_>, name: &'static str) -> Result<()>;
    /// Bytes the field takes on the wire.
    fn wire_len(&self) -> usize;
    /// Whether this is a trailing optional field.
    fn is_optional(&self) -> bool {
        false
    }
    /// Makes an optional field present (`true`, with a default value if it was absent) or
    /// absent (`false`); other fields stay as they are.
    fn set_present(&mut self, present: bool) {
        let _ = present;
    }
}

macro_rules! int_field {
    ($($t:ty => $read:ident, $len:expr;)*) => {$(
        impl Field for $t {
            fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
                Ok(r.$read(name)? as $t)
            }
            fn write(&self, w: &mut Writer<'_>, _: &'static str) -> Result<()> {
                w.bytes(&self.to_le_bytes())
            }
            fn wire_len(&self) -> usize {
                $len
            }
        }
    )*};
}
int_field! {
    u8 => u8, 1;
    u16 => u16, 2;
    u32 => u32, 4;
    i8 => u8, 1;
    i16 => u16, 2;
}

/// Whether `field` is an absent optional field (the JSON form leaves those out).
pub fn is_absent<T: Field>(field: &T) -> bool {
    field.is_optional() && field.wire_len() == 0
}

/// Trailing optional field: read when input remains, written when present. Once one optional
/// field is absent, every later one must be absent too ([`Error::OptionalFieldGap`]).
impl<T: Field + Default> Field for Option<T> {
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        if r.remaining() == 0 {
            Ok(None)
        } else {
            T::read(r, name).map(Some)
        }
    }
    fn write(&self, w: &mut Writer<'_>, name: &'static str) -> Result<()> {
        match self {
            None => {
                w.optional_closed = true;
                Ok(())
            }
            Some(_) if w.optional_closed => Err(Error::OptionalFieldGap { field: name }),
            Some(v) => v.write(w, name),
        }
    }
    fn wire_len(&self) -> usize {
        self.as_ref().map_or(0, Field::wire_len)
    }
    fn is_optional(&self) -> bool {
        true
    }
    fn set_present(&mut self, present: bool) {
        match (present, self.is_some()) {
            (true, false) => *self = Some(T::default()),
            (false, true) => *self = None,
            _ => {}
        }
    }
}

/// An unsigned 24-bit integer (ZCL `uint24`), held in a `u32` whose top byte must be zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(transparent)
)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct U24(pub u32);

impl U24 {
    /// Largest value a `uint24` holds.
    pub const MAX: u32 = 0x00FF_FFFF;
}

impl Field for U24 {
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        r.u24(name).map(U24)
    }
    fn write(&self, w: &mut Writer<'_>, name: &'static str) -> Result<()> {
        if self.0 > Self::MAX {
            return Err(Error::Invalid {
                field: name,
                offset: 0,
                reason: "does not fit in 24 bits",
            });
        }
        w.uint(u64::from(self.0), 3)
    }
    fn wire_len(&self) -> usize {
        3
    }
}

#[cfg(feature = "proptest")]
impl proptest::arbitrary::Arbitrary for U24 {
    type Parameters = ();
    type Strategy = proptest::strategy::Map<core::ops::RangeInclusive<u32>, fn(u32) -> U24>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::strategy::Strategy;
        (0..=U24::MAX).prop_map(U24)
    }
}

/// Exactly `N` bytes (a signature, a MAC, a certificate). JSON: a hex string.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Bytes<const N: usize>(pub [u8; N]);

impl<const N: usize> core::fmt::Debug for Bytes<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("0x")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl<const N: usize> Default for Bytes<N> {
    fn default() -> Self {
        Bytes([0; N])
    }
}

impl<const N: usize> Field for Bytes<N> {
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        let mut out = [0; N];
        out.copy_from_slice(r.take(name, N)?);
        Ok(Bytes(out))
    }
    fn write(&self, w: &mut Writer<'_>, _: &'static str) -> Result<()> {
        w.bytes(&self.0)
    }
    fn wire_len(&self) -> usize {
        N
    }
}

#[cfg(feature = "proptest")]
impl<const N: usize> proptest::arbitrary::Arbitrary for Bytes<N> {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::strategy::Strategy;
        proptest::collection::vec(proptest::num::u8::ANY, N)
            .prop_map(|v| {
                let mut out = [0; N];
                out.copy_from_slice(&v);
                Bytes(out)
            })
            .boxed()
    }
}

/// Up to `N` bytes, stored and compared as they are on the wire.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct ByteString<const N: usize>(pub heapless::Vec<u8, N>);

impl<const N: usize> ByteString<N> {
    /// The bytes, or [`Error::TooLong`] when there are more than `N`.
    pub fn new(bytes: &[u8]) -> Result<Self> {
        heapless::Vec::from_slice(bytes)
            .map(ByteString)
            .map_err(|_| Error::TooLong {
                field: "string",
                offset: 0,
                capacity: N,
            })
    }
    /// The stored bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
    pub(crate) fn read_exact(r: &mut Reader<'_>, name: &'static str, len: usize) -> Result<Self> {
        let offset = r.offset();
        let bytes = r.take(name, len)?;
        heapless::Vec::from_slice(bytes)
            .map(ByteString)
            .map_err(|_| Error::TooLong {
                field: name,
                offset,
                capacity: N,
            })
    }
}

/// Text in quotes when the bytes are printable ASCII, else hex.
impl<const N: usize> core::fmt::Debug for ByteString<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let bytes = self.as_bytes();
        if !bytes.is_empty() && bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
            write!(f, "{:?}", core::str::from_utf8(bytes).unwrap_or_default())
        } else {
            f.write_str("0x")?;
            bytes.iter().try_for_each(|b| write!(f, "{b:02x}"))
        }
    }
}

#[cfg(feature = "defmt")]
impl<const N: usize> defmt::Format for ByteString<N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{=[u8]:x}", self.as_bytes())
    }
}

#[cfg(feature = "proptest")]
impl<const N: usize> proptest::arbitrary::Arbitrary for ByteString<N> {
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::strategy::Strategy;
        proptest::collection::vec(proptest::num::u8::ANY, 0..=N.min(64))
            .prop_map(|v| ByteString(heapless::Vec::from_slice(&v).unwrap_or_default()))
            .boxed()
    }
}

macro_rules! string_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[cfg_attr(feature = "proptest", derive(proptest_derive::Arbitrary))]
        pub struct $name<const N: usize>(pub ByteString<N>);

        impl<const N: usize> $name<N> {
            /// The string from its bytes, or [`Error::TooLong`] when there are more than `N`.
            pub fn new(bytes: &[u8]) -> Result<Self> {
                ByteString::new(bytes).map($name)
            }
            /// The string's bytes, without the length prefix.
            pub fn as_bytes(&self) -> &[u8] {
                self.0.as_bytes()
            }
        }
    };
}

string_type!(
    /// All remaining bytes of the payload, up to `N`. JSON: a hex string.
    RestBytes
);

macro_rules! prefixed_string_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        ///
        /// `None` is the type's invalid value, sent as length 0xFF with no bytes (JSON: `null`).
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[cfg_attr(feature = "proptest", derive(proptest_derive::Arbitrary))]
        pub struct $name<const N: usize>(pub Option<ByteString<N>>);

        impl<const N: usize> Default for $name<N> {
            fn default() -> Self {
                $name(Some(ByteString::default()))
            }
        }

        impl<const N: usize> $name<N> {
            /// The invalid string (length 0xFF on the wire).
            pub const INVALID: Self = $name(None);

            /// The string from its bytes, or [`Error::TooLong`] when there are more than `N`.
            pub fn new(bytes: &[u8]) -> Result<Self> {
                ByteString::new(bytes).map(|b| $name(Some(b)))
            }
            /// The string's bytes, without the length prefix (none for the invalid string).
            pub fn as_bytes(&self) -> &[u8] {
                self.0.as_ref().map_or(&[], ByteString::as_bytes)
            }
            /// Whether this is the invalid string.
            pub fn is_invalid(&self) -> bool {
                self.0.is_none()
            }
        }

        impl<const N: usize> Field for $name<N> {
            fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
                match r.u8(name)? {
                    0xFF => Ok($name(None)),
                    len => ByteString::read_exact(r, name, usize::from(len)).map(|b| $name(Some(b))),
                }
            }
            fn write(&self, w: &mut Writer<'_>, name: &'static str) -> Result<()> {
                let Some(bytes) = &self.0 else { return w.u8(0xFF) };
                let len = u8::try_from(bytes.as_bytes().len())
                    .ok()
                    .filter(|len| *len != 0xFF)
                    .ok_or(Error::TooLong { field: name, offset: w.position(), capacity: 254 })?;
                w.u8(len)?;
                w.bytes(bytes.as_bytes())
            }
            fn wire_len(&self) -> usize {
                1 + self.as_bytes().len()
            }
        }
    };
}

prefixed_string_type!(
    /// A ZCL octet string (type 0x41): a length byte, then up to `N` bytes. JSON: a hex string.
    OctetString
);
prefixed_string_type!(
    /// A ZCL character string (type 0x42): a length byte, then up to `N` bytes of text.
    /// JSON: a string when the bytes are UTF-8, else `{"hex": "…"}`; both are accepted back.
    CharString
);

impl<const N: usize> CharString<N> {
    /// The text, when it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        core::str::from_utf8(self.as_bytes()).ok()
    }
}

impl<const N: usize> Field for RestBytes<N> {
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        let len = r.remaining();
        ByteString::read_exact(r, name, len).map(RestBytes)
    }
    fn write(&self, w: &mut Writer<'_>, _: &'static str) -> Result<()> {
        w.bytes(self.as_bytes())
    }
    fn wire_len(&self) -> usize {
        self.as_bytes().len()
    }
}

/// A list kept in its wire form (at most `N` bytes), whose items are decoded on access.
///
/// Used where items vary in size (attribute records carry strings), so that a list costs `N`
/// bytes however its items are sized. Every item was validated when the list was parsed or
/// pushed, so iteration yields exactly the items that were put in.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Records<T, const N: usize> {
    raw: heapless::Vec<u8, N>,
    _item: core::marker::PhantomData<T>,
}

impl<T: Field, const N: usize> Records<T, N> {
    /// An empty list.
    pub fn new() -> Self {
        Records {
            raw: heapless::Vec::new(),
            _item: core::marker::PhantomData,
        }
    }

    /// A list of `items`.
    pub fn from_items<'i>(items: impl IntoIterator<Item = &'i T>) -> Result<Self>
    where
        T: 'i,
    {
        let mut records = Self::new();
        for item in items {
            records.push(item)?;
        }
        Ok(records)
    }

    /// Appends `item`; [`Error::TooLong`] when its encoding does not fit.
    pub fn push(&mut self, item: &T) -> Result<()> {
        let mut buf = [0u8; N];
        let len = item.wire_len();
        let slot = buf.get_mut(..len).ok_or(Error::TooLong {
            field: "records",
            offset: self.raw.len(),
            capacity: N,
        })?;
        let mut w = Writer::new(slot);
        item.write(&mut w, "record")?;
        self.raw
            .extend_from_slice(&buf[..len])
            .map_err(|_| Error::TooLong {
                field: "records",
                offset: self.raw.len(),
                capacity: N,
            })
    }

    /// The items, decoded from the stored wire form.
    pub fn iter(&self) -> impl Iterator<Item = T> + '_ {
        let mut r = Reader::new(&self.raw, 0);
        core::iter::from_fn(move || {
            if r.remaining() == 0 {
                None
            } else {
                T::read(&mut r, "record").ok()
            }
        })
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.iter().count()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.raw.is_empty()
    }

    /// The list's wire form.
    pub fn as_bytes(&self) -> &[u8] {
        &self.raw
    }
}

impl<T: Field + core::fmt::Debug, const N: usize> core::fmt::Debug for Records<T, N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<T: Field, const N: usize> Field for Records<T, N> {
    fn read(r: &mut Reader<'_>, name: &'static str) -> Result<Self> {
        let start = r.offset();
        let bytes = r.rest();
        let mut check = Reader::new(bytes, start);
        while check.remaining() > 0 {
            T::read(&mut check, name)?;
        }
        let raw = heapless::Vec::from_slice(bytes).map_err(|_| Error::TooLong {
            field: name,
            offset: start,
            capacity: N,
        })?;
        Ok(Records {
            raw,
            _item: core::marker::PhantomData,
        })
    }
    fn write(&self, w: &mut Writer<'_>, _: &'static str) -> Result<()> {
        w.bytes(&self.raw)
    }
    fn wire_len(&self) -> usize {
        self.raw.len()
    }
}

#[cfg(feature = "defmt")]
impl<T, const N: usize> defmt::Format for Records<T, N> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "Records({=[u8]:x})", &self.raw[..])
    }
}

#[cfg(feature = "proptest")]
impl<T, const N: usize> proptest::arbitrary::Arbitrary for Records<T, N>
where
    T: Field + proptest::arbitrary::Arbitrary + core::fmt::Debug + 'static,
{
    type Parameters = ();
    type Strategy = proptest::strategy::BoxedStrategy<Self>;
    fn arbitrary_with(_: ()) -> Self::Strategy {
        use proptest::strategy::Strategy;
        proptest::collection::vec(proptest::arbitrary::any::<T>(), 0..6)
            .prop_map(|items| {
                let mut records = Records::new();
                for item in &items {
                    if records.push(item).is_err() {
                        break;
                    }
                }
                records
            })
            .boxed()
    }
}
