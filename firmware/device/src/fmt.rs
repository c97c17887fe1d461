//! Logging shim: `defmt` on a device (feature `defmt`), nothing on the host.

#[cfg(feature = "defmt")]
macro_rules! debug {
    ($($arg:tt)*) => { defmt::debug!($($arg)*) };
}

#[cfg(not(feature = "defmt"))]
macro_rules! debug {
    ($($arg:tt)*) => {{
        let _ = ($($arg)*,);
    }};
}
