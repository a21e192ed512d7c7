//! SSRS's named chart palettes (`Palette`): the colours series (or pie slices) take in
//! order, cycling when there are more series than colours.
//!
//! The colour lists follow the .NET chart control's palettes that SSRS exposes; `Default`
//! is the 2008 R2+ default set. A palette name SSRS does not know falls back to `Default`
//! (the engine warns).

use crate::Rgba;

/// A named palette.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Palette {
    /// `Default`.
    #[default]
    Default,
    /// `EarthTones`.
    EarthTones,
    /// `Excel`.
    Excel,
    /// `GrayScale`.
    GrayScale,
    /// `Light`.
    Light,
    /// `Pastel`.
    Pastel,
    /// `SemiTransparent`.
    SemiTransparent,
    /// `Berry`.
    Berry,
    /// `Chocolate`.
    Chocolate,
    /// `Fire`.
    Fire,
    /// `SeaGreen`.
    SeaGreen,
    /// `BrightPastel`.
    BrightPastel,
}

const DEFAULT: &[u32] = &[
    0x418CF0, 0xFCB441, 0xDF3A02, 0x056492, 0xBFBFBF, 0x1A3B69, 0xFFE382, 0x129CDD, 0xCA6B4B,
    0x005CDB, 0xF3D288, 0x506381, 0xF1B9A8, 0xE0830A, 0x7893BE,
];
const BRIGHT_PASTEL: &[u32] = &[
    0x418CF0, 0xFCB441, 0xE0400A, 0x056492, 0xBFBFBF, 0x1A3B69, 0xFFE382, 0x129CDD, 0xCA6B4B,
    0x005CDB, 0xF3D288, 0x506381, 0xF1B9A8, 0xE0830A, 0x7893BE,
];
const EARTH_TONES: &[u32] = &[
    0xFF8000, 0xB8860B, 0xC04000, 0x6B8E23, 0xCD853F, 0xC0C000, 0x228B22, 0xD2691E, 0x808000,
    0x20B2AA, 0xF4A460, 0x00C000, 0x8FBC8B, 0xB22222, 0x8B4513, 0xC00000,
];
const EXCEL: &[u32] = &[
    0x9999FF, 0x993366, 0xFFFFCC, 0xCCFFFF, 0x660066, 0xFF8080, 0x0066CC, 0xCCCCFF, 0x000080,
    0xFF00FF, 0xFFFF00, 0x00FFFF, 0x800080, 0x800000, 0x008080, 0x0000FF,
];
const GRAY_SCALE: &[u32] = &[
    0xC8C8C8, 0xBDBDBD, 0xB2B2B2, 0xA7A7A7, 0x9C9C9C, 0x919191, 0x868686, 0x7B7B7B, 0x707070,
    0x656565, 0x5A5A5A, 0x4F4F4F, 0x444444, 0x393939, 0x2E2E2E, 0x232323,
];
const LIGHT: &[u32] = &[
    0xE6E6FA, 0xFFF0F5, 0xFFDAB9, 0xFFFACD, 0xFFE4E1, 0xF0FFF0, 0xF0F8FF, 0xF5F5F5, 0xFAEBD7,
    0xE0FFFF,
];
const PASTEL: &[u32] = &[
    0x87CEEB, 0x32CD32, 0xBA55D3, 0xF08080, 0x4682B4, 0x9ACD32, 0x40E0D0, 0xFF69B4, 0xF0E68C,
    0xD2B48C, 0x8FBC8B, 0x6495ED, 0xDDA0DD, 0x5F9EA0, 0xFFDAB9, 0xFFA07A,
];
const SEMI_TRANSPARENT: &[u32] = &[
    0xFF0000, 0x00FF00, 0x0000FF, 0xFFFF00, 0x00FFFF, 0xFF00FF, 0xAA7814, 0xFF0000, 0x00FF00,
    0x0000FF, 0xFFFF00, 0x00FFFF, 0xFF00FF, 0xAA7814, 0x6495ED, 0xFFA07A,
];
const BERRY: &[u32] = &[
    0x8A2BE2, 0xBA55D3, 0x4169E1, 0xC71585, 0x0000FF, 0x8A2BE2, 0xDA70D6, 0x7B68EE, 0xC000C0,
    0x0000CD, 0x800080,
];
const CHOCOLATE: &[u32] = &[
    0xA0522D, 0xD2691E, 0x8B0000, 0xCD853F, 0xA52A2A, 0xF4A460, 0x8B4513, 0xC04000, 0xE2B48C,
    0xB8860B, 0x800000,
];
const FIRE: &[u32] = &[
    0xFFD700, 0xFF0000, 0xFF1493, 0xDC143C, 0xFF8C00, 0xFF00FF, 0xFFFF00, 0xFF4500, 0xC71585,
    0xDDE221,
];
const SEA_GREEN: &[u32] = &[
    0x2E8B57, 0x66CDAA, 0x4682B4, 0x008B8B, 0x5F9EA0, 0x3CB371, 0x48D1CC, 0xB0C4DE, 0xFFFFFF,
    0x87CEEB,
];

impl Palette {
    /// The palette named `name` (case-insensitive), `None` for an unknown name.
    pub fn from_name(name: &str) -> Option<Palette> {
        use Palette as P;
        let all = [
            ("Default", P::Default),
            ("EarthTones", P::EarthTones),
            ("Excel", P::Excel),
            ("GrayScale", P::GrayScale),
            ("Light", P::Light),
            ("Pastel", P::Pastel),
            ("SemiTransparent", P::SemiTransparent),
            ("Berry", P::Berry),
            ("Chocolate", P::Chocolate),
            ("Fire", P::Fire),
            ("SeaGreen", P::SeaGreen),
            ("BrightPastel", P::BrightPastel),
        ];
        all.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.trim()))
            .map(|&(_, p)| p)
    }

    fn colors(self) -> &'static [u32] {
        match self {
            Palette::Default => DEFAULT,
            Palette::EarthTones => EARTH_TONES,
            Palette::Excel => EXCEL,
            Palette::GrayScale => GRAY_SCALE,
            Palette::Light => LIGHT,
            Palette::Pastel => PASTEL,
            Palette::SemiTransparent => SEMI_TRANSPARENT,
            Palette::Berry => BERRY,
            Palette::Chocolate => CHOCOLATE,
            Palette::Fire => FIRE,
            Palette::SeaGreen => SEA_GREEN,
            Palette::BrightPastel => BRIGHT_PASTEL,
        }
    }

    /// The `i`th colour (cycling).
    pub fn color(self, i: usize) -> Rgba {
        let c = self.colors();
        let mut rgba = Rgba::rgb(c[i % c.len()]);
        if self == Palette::SemiTransparent {
            rgba.a = 150;
        }
        rgba
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_named_palette_parses_and_cycles() {
        for n in [
            "Default",
            "EarthTones",
            "Excel",
            "GrayScale",
            "Light",
            "Pastel",
            "SemiTransparent",
            "Berry",
            "Chocolate",
            "Fire",
            "SeaGreen",
            "BrightPastel",
        ] {
            let p = Palette::from_name(n).unwrap();
            assert_eq!(p.color(0), p.color(p.colors().len()), "{n}");
        }
        assert_eq!(
            Palette::from_name("brightpastel"),
            Some(Palette::BrightPastel)
        );
        assert_eq!(Palette::from_name("Neon"), None);
        assert_eq!(Palette::SemiTransparent.color(0).a, 150);
    }
}
