//! Shared by the integration tests: hex and the Annex C.5 values.
#![allow(dead_code, clippy::unwrap_used)]

pub fn hex<const N: usize>(s: &str) -> [u8; N] {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    assert_eq!(s.len(), 2 * N, "{s}");
    let mut out = [0u8; N];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
    }
    out
}

/// SE 1.x Annex C.5 (suite 1), as collected in cbke-facts.md §3.B.
pub mod c5 {
    pub const CA_PUBLIC: &str = "0200FDE8A7F3D1084224962A4E7C54E69AC3F04DA6B8";
    pub const CERT_V: &str = "03045FDFC8D85FFB8B3993CB72DDCAA55F00B3E87D6D 0000000000000001 5445535453454341 01090006000000000000";
    pub const D_V: &str = "00B8A900FCADEBABBFA383B540FCE9ED438395EAA7";
    pub const Q_V: &str = "030290A1F5C08DAD5F2945E335620C7A98FAC46666A1";
    pub const CERT_U: &str = "020615E07D30ECA2DAD58002E667D94BC1B422398307 0000000000000002 5445535453454341 01090006000000000000";
    pub const D_U: &str = "01E9DDB5580CF72ECE7F215F0AE594E48DF3E7FEE8";
    pub const Q_U: &str = "03025BBA38D0C7B5436B68DF728F093E7A1D6C437E6D";
    pub const R_V: &str = "03D48C7210DDBCC4FB2E5E7A0AA16A0DB89540820B";
    pub const QE_V: &str = "0306AB52062201D995B8B8591F3F086A3A2E214D845E";
    pub const R_U: &str = "0013D36DE4B1EA8E22739C381370823F404BFF8862";
    pub const QE_U: &str = "0300E117C86D0E7CD128B2F34E9076CFF24AF46D7288";
    pub const Z: &str = "00E0D2C3CCD5C106A89C4F6CC26A5F7EC9DF78A7BE";
    pub const MAC_KEY: &str = "90F967B22C8357C10C1C04788DE9E848";
    pub const KEY_DATA: &str = "86D58AAA998E2FAEFAF9FEF49606543A";
    pub const MACU: &str = "B82F1F9774740C32F80FCFC3921B6420";
    pub const MACV: &str = "79D5F2AD1C31D4D1EE7CB719AC683C3C";
}
