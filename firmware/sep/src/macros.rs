//! The three shapes every definition in this crate takes: open enumerations, bitmaps and
//! fixed-order layouts. One macro each, so every value gets the same parse, emit, serde, defmt
//! and proptest behaviour.

/// An enumeration whose unknown values survive a round trip in `Unknown(raw)`.
macro_rules! open_enum {
    (
        $(#[$m:meta])*
        pub enum $name:ident($repr:ty) {
            $( $(#[$vm:meta])* $variant:ident = $value:expr ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub enum $name {
            $( $(#[$vm])* #[allow(missing_docs)] $variant, )*
            /// A value this crate has no name for; kept as it was on the wire.
            Unknown($repr),
        }

        impl From<$repr> for $name {
            fn from(value: $repr) -> Self {
                match value {
                    $( $value => $name::$variant, )*
                    other => $name::Unknown(other),
                }
            }
        }

        impl From<$name> for $repr {
            fn from(value: $name) -> $repr {
                match value {
                    $( $name::$variant => $value, )*
                    $name::Unknown(other) => other,
                }
            }
        }

        impl $name {
            /// The value's name, or `None` for an unknown value.
            pub fn name(self) -> Option<&'static str> {
                match self {
                    $( $name::$variant => Some(stringify!($variant)), )*
                    $name::Unknown(_) => None,
                }
            }
        }

        impl $crate::wire::Field for $name {
            fn read(r: &mut $crate::wire::Reader<'_>, name: &'static str) -> $crate::Result<Self> {
                <$repr as $crate::wire::Field>::read(r, name).map($name::from)
            }
            fn write(&self, w: &mut $crate::wire::Writer<'_>, name: &'static str) -> $crate::Result<()> {
                <$repr as $crate::wire::Field>::write(&<$repr>::from(*self), w, name)
            }
            fn wire_len(&self) -> usize {
                core::mem::size_of::<$repr>()
            }
        }

        #[cfg(feature = "serde")]
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> core::result::Result<S::Ok, S::Error> {
                serde::Serialize::serialize(&<$repr>::from(*self), s)
            }
        }

        #[cfg(feature = "serde")]
        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> core::result::Result<Self, D::Error> {
                <$repr as serde::Deserialize>::deserialize(d).map($name::from)
            }
        }

        #[cfg(feature = "proptest")]
        impl proptest::arbitrary::Arbitrary for $name {
            type Parameters = ();
            type Strategy = proptest::strategy::BoxedStrategy<Self>;
            fn arbitrary_with(_: ()) -> Self::Strategy {
                use proptest::strategy::Strategy;
                proptest::arbitrary::any::<$repr>().prop_map($name::from).boxed()
            }
        }
    };
}

/// A bitmap newtype: the raw bits are public, named bits are constants.
macro_rules! bitmap {
    (
        $(#[$m:meta])*
        pub struct $name:ident($repr:ty) {
            $( $(#[$cm:meta])* const $flag:ident = $bits:expr; )*
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize), serde(transparent))]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        #[cfg_attr(feature = "proptest", derive(proptest_derive::Arbitrary))]
        pub struct $name(pub $repr);

        impl $name {
            $( $(#[$cm])* pub const $flag: $repr = $bits; )*

            /// Whether every bit of `mask` is set.
            pub fn contains(self, mask: $repr) -> bool {
                self.0 & mask == mask
            }
        }

        impl $crate::wire::Field for $name {
            fn read(r: &mut $crate::wire::Reader<'_>, name: &'static str) -> $crate::Result<Self> {
                <$repr as $crate::wire::Field>::read(r, name).map($name)
            }
            fn write(&self, w: &mut $crate::wire::Writer<'_>, name: &'static str) -> $crate::Result<()> {
                <$repr as $crate::wire::Field>::write(&self.0, w, name)
            }
            fn wire_len(&self) -> usize {
                core::mem::size_of::<$repr>()
            }
        }
    };
}

/// A fixed-order layout: a struct whose fields are read and written in declaration order.
/// `Option` fields are trailing optional fields; lists and rest-of-payload fields come last.
macro_rules! layout {
    (
        $(#[$m:meta])*
        pub struct $name:ident {
            $( $(#[$fm:meta])* pub $field:ident : $ty:ty ),* $(,)?
        }
    ) => {
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[cfg_attr(feature = "defmt", derive(defmt::Format))]
        pub struct $name {
            $(
                $(#[$fm])*
                #[cfg_attr(feature = "serde", serde(skip_serializing_if = "crate::wire::is_absent"))]
                pub $field: $ty,
            )*
        }

        impl $crate::wire::Field for $name {
            #[allow(unused_variables)]
            fn read(r: &mut $crate::wire::Reader<'_>, name: &'static str) -> $crate::Result<Self> {
                Ok($name { $( $field: $crate::wire::Field::read(r, stringify!($field))?, )* })
            }
            #[allow(unused_variables)]
            fn write(&self, w: &mut $crate::wire::Writer<'_>, name: &'static str) -> $crate::Result<()> {
                $( $crate::wire::Field::write(&self.$field, w, stringify!($field))?; )*
                Ok(())
            }
            fn wire_len(&self) -> usize {
                0 $( + $crate::wire::Field::wire_len(&self.$field) )*
            }
        }

        impl $name {
            /// Makes the first `count` optional trailing fields present (absent ones get a
            /// default value) and the rest absent: the shapes the wire format allows.
            #[allow(unused_variables, unused_mut, unused_assignments)]
            pub fn keep_optionals(&mut self, count: usize) {
                let mut seen = 0usize;
                $(
                    if $crate::wire::Field::is_optional(&self.$field) {
                        $crate::wire::Field::set_present(&mut self.$field, seen < count);
                        seen += 1;
                    }
                )*
            }
        }

        #[cfg(feature = "proptest")]
        impl proptest::arbitrary::Arbitrary for $name {
            type Parameters = ();
            type Strategy = proptest::strategy::BoxedStrategy<Self>;
            fn arbitrary_with(_: ()) -> Self::Strategy {
                use proptest::strategy::Strategy;
                (nested_strategy!($($ty),*), 0usize..32)
                    .prop_map(|(nested_pattern!($($field),*), keep)| {
                        let mut value = $name { $($field,)* };
                        value.keep_optionals(keep);
                        value
                    })
                    .boxed()
            }
        }
    };
}

/// `(any::<A>(), (any::<B>(), any::<C>()))` for types `A, B, C`: strategies nest in pairs so
/// that layouts longer than proptest's 12-tuple limit still get one.
#[cfg(feature = "proptest")]
macro_rules! nested_strategy {
    () => { proptest::strategy::Just(()) };
    ($t:ty) => { proptest::arbitrary::any::<$t>() };
    ($t:ty, $($rest:ty),+) => { (proptest::arbitrary::any::<$t>(), nested_strategy!($($rest),+)) };
}

/// The pattern matching [`nested_strategy!`]'s values.
#[cfg(feature = "proptest")]
macro_rules! nested_pattern {
    () => { () };
    ($f:ident) => { $f };
    ($f:ident, $($rest:ident),+) => { ($f, nested_pattern!($($rest),+)) };
}
