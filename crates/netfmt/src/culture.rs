//! Culture data: the `NumberFormatInfo` and `DateTimeFormatInfo` values SSRS sees.
//!
//! Owns: a small static table of cultures with the values .NET **Framework** 4.x reports on
//! Windows 10 / Server 2016+. .NET Framework 4 reads these from the operating system's NLS
//! locale data (`GetLocaleInfoEx`), not from ICU/CLDR as .NET 5+ does, so e.g. en-US currency
//! negatives are `($1.00)` (`dotnet/runtime#46591`, `dotnet/core#5817` show .NET Framework
//! printing `($1,234.56)`).
//!
//! Must not: do any formatting itself or any I/O. Adding a culture is adding one `static`.
//!
//! Sources, per fact (look-ups of Microsoft's documentation and issue threads; "NLS" marks a
//! value taken from Windows locale data as documented/observed, "verify" one that was not
//! confirmed against a real .NET Framework):
//! - Invariant numbers: `PercentPositivePattern` 0 `n %`, `PercentNegativePattern` 0 `-n %`,
//!   `CurrencySymbol` `¤`, patterns 0 (learn.microsoft.com NumberFormatInfo.PercentPositivePattern
//!   "The default for InvariantInfo is 0"; NumberFormatInfo.CurrencySymbol "¤" for invariant).
//! - Invariant dates: `MM/dd/yyyy`, `dddd, dd MMMM yyyy`, `HH:mm`, `HH:mm:ss`, `MMMM dd`,
//!   `yyyy MMMM` (DateTimeFormatInfo property pages, InvariantInfo values).
//! - en-US numbers: `($n)` currency negative pattern 0 (issues above); percent patterns 0/0
//!   `n %` / `-n %`: the NLS value. The .NET docs' standard-numeric-format table written in
//!   the NLS era shows `1 ("P", en-US) -> 100.00 %` and `-0.39678 ("P1", en-US) -> -39.7 %`
//!   (`dotnet/docs` standard-numeric-format-strings.md; `dotnet/docs#21884` notes those
//!   outputs change under .NET 5's ICU, which prints `100.00%`).
//! - en-US dates: `M/d/yyyy`, `dddd, MMMM d, yyyy`, `h:mm tt`, `h:mm:ss tt`, `MMMM d`
//!   (DateTimeFormatInfo.MonthDayPattern example output "en-US MMMM d"; the 1.1-era docs show
//!   `MMMM dd`, which older NLS tables had), `MMMM yyyy`.
//! - fr-FR currency `123,46 €` / `-123,456 €` (patterns 3/8) and percent `100,00 %`: the same
//!   NLS-era table.
//! - de-DE, fr-FR, en-GB, es-ES: other NLS values as Windows 10 reports them (verify): de-DE `dd.MM.yyyy`,
//!   `dddd, d. MMMM yyyy`, currency `n €`/`-n €` (patterns 3/8), percent `n %`; fr-FR
//!   group separator U+00A0 (NLS; ICU uses U+202F), `dddd d MMMM yyyy`; en-GB `dd/MM/yyyy`,
//!   `dd MMMM yyyy`, `£`, currency negative pattern 1 `-£n`.
//! - nl-NL short date `d-M-yyyy` under net48 (`dotnet/runtime#59251`: .NET 5 ICU changed it
//!   to `dd-MM-yyyy`); currency `€ n` / `€ -n` (patterns 2/12, verify).
//! - ja-JP currency `¥123` and `-¥123.456` (0 currency decimals, patterns 0/1: the NLS-era
//!   standard-numeric-format table); percent `n%`, dates `yyyy/MM/dd`, `H:mm`, 午前/午後 (verify).

/// Number formatting data (the fields of .NET's `NumberFormatInfo` that formatting reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberFormat {
    /// `NumberDecimalSeparator`.
    pub decimal_separator: &'static str,
    /// `NumberGroupSeparator`.
    pub group_separator: &'static str,
    /// `NumberGroupSizes`: the last size repeats; a final 0 stops grouping.
    pub group_sizes: &'static [u8],
    /// `NumberDecimalDigits` (default precision of `N` and `F`).
    pub decimal_digits: u8,
    /// `NumberNegativePattern` 0..=4: `(n)`, `-n`, `- n`, `n-`, `n -`.
    pub negative_pattern: u8,
    /// `CurrencySymbol`.
    pub currency_symbol: &'static str,
    /// `CurrencyDecimalSeparator`.
    pub currency_decimal_separator: &'static str,
    /// `CurrencyGroupSeparator`.
    pub currency_group_separator: &'static str,
    /// `CurrencyGroupSizes`.
    pub currency_group_sizes: &'static [u8],
    /// `CurrencyDecimalDigits`.
    pub currency_decimal_digits: u8,
    /// `CurrencyPositivePattern` 0..=3: `$n`, `n$`, `$ n`, `n $`.
    pub currency_positive_pattern: u8,
    /// `CurrencyNegativePattern` 0..=15 (0 = `($n)`).
    pub currency_negative_pattern: u8,
    /// `PercentSymbol`.
    pub percent_symbol: &'static str,
    /// `PerMilleSymbol`.
    pub per_mille_symbol: &'static str,
    /// `PercentDecimalSeparator`.
    pub percent_decimal_separator: &'static str,
    /// `PercentGroupSeparator`.
    pub percent_group_separator: &'static str,
    /// `PercentGroupSizes`.
    pub percent_group_sizes: &'static [u8],
    /// `PercentDecimalDigits`.
    pub percent_decimal_digits: u8,
    /// `PercentPositivePattern` 0..=3: `n %`, `n%`, `%n`, `% n`.
    pub percent_positive_pattern: u8,
    /// `PercentNegativePattern` 0..=11: `-n %`, `-n%`, `-%n`, ...
    pub percent_negative_pattern: u8,
    /// `NegativeSign`.
    pub negative_sign: &'static str,
    /// `PositiveSign`.
    pub positive_sign: &'static str,
    /// `NaNSymbol`.
    pub nan_symbol: &'static str,
    /// `PositiveInfinitySymbol`.
    pub positive_infinity: &'static str,
    /// `NegativeInfinitySymbol`.
    pub negative_infinity: &'static str,
}

/// Date/time formatting data (the fields of .NET's `DateTimeFormatInfo` that formatting reads).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTimeFormat {
    /// `ShortDatePattern` (`d`).
    pub short_date: &'static str,
    /// `LongDatePattern` (`D`).
    pub long_date: &'static str,
    /// `ShortTimePattern` (`t`).
    pub short_time: &'static str,
    /// `LongTimePattern` (`T`).
    pub long_time: &'static str,
    /// `FullDateTimePattern` (`F`).
    pub full_date_time: &'static str,
    /// `MonthDayPattern` (`M`, `m`).
    pub month_day: &'static str,
    /// `YearMonthPattern` (`Y`, `y`).
    pub year_month: &'static str,
    /// `DateSeparator` (the custom `/`).
    pub date_separator: &'static str,
    /// `TimeSeparator` (the custom `:`).
    pub time_separator: &'static str,
    /// `AMDesignator`.
    pub am: &'static str,
    /// `PMDesignator`.
    pub pm: &'static str,
    /// `MonthNames`, January first.
    pub month_names: [&'static str; 12],
    /// `AbbreviatedMonthNames`.
    pub abbreviated_month_names: [&'static str; 12],
    /// `DayNames`, Sunday first.
    pub day_names: [&'static str; 7],
    /// `AbbreviatedDayNames`, Sunday first.
    pub abbreviated_day_names: [&'static str; 7],
    /// The era name the `g` specifier prints (Gregorian calendar).
    pub era: &'static str,
}

/// A culture: a name and its number and date/time data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Culture {
    /// The culture name as .NET spells it (`en-US`; the invariant culture is `""`).
    pub name: &'static str,
    /// Number formatting data.
    pub number: NumberFormat,
    /// Date/time formatting data.
    pub datetime: DateTimeFormat,
}

impl Culture {
    /// Looks a culture up by name, case-insensitively (`en-us` finds `en-US`). `""` and
    /// `"iv"`/`"invariant"` give the invariant culture; a neutral name (`de`, `fr`, `en`) gives
    /// its default specific culture, as `CultureInfo.CreateSpecificCulture` does. `None` means
    /// the culture is not in this crate's table: the caller falls back to its default culture.
    pub fn get(name: &str) -> Option<&'static Culture> {
        let n = name.trim();
        if n.is_empty() || n.eq_ignore_ascii_case("iv") || n.eq_ignore_ascii_case("invariant") {
            return Some(&INVARIANT);
        }
        // ASCII case and `_` for `-` ignored, without a copy of the name
        let same = |known: &str| {
            known.len() == n.len()
                && known
                    .bytes()
                    .zip(n.bytes())
                    .all(|(k, b)| k.eq_ignore_ascii_case(&b) || (k == b'-' && b == b'_'))
        };
        ALL.iter().copied().find(|c| same(c.name)).or_else(|| {
            NEUTRALS
                .iter()
                .find(|(neutral, _)| same(neutral))
                .map(|(_, c)| *c)
        })
    }

    /// [`Culture::get`], falling back to en-US (SSRS's default) for a name not in the table —
    /// what a report's `Language` needs when it names a culture this crate does not carry.
    pub fn get_or_en_us(name: &str) -> &'static Culture {
        Culture::get(name).unwrap_or(&EN_US)
    }

    /// The invariant culture (`CultureInfo.InvariantCulture`).
    pub fn invariant() -> &'static Culture {
        &INVARIANT
    }

    /// en-US, the SSRS default.
    pub fn en_us() -> &'static Culture {
        &EN_US
    }

    /// The names of all cultures in the table.
    pub fn names() -> impl Iterator<Item = &'static str> {
        ALL.iter().map(|c| c.name)
    }
}

static ALL: [&Culture; 8] = [
    &INVARIANT, &EN_US, &EN_GB, &DE_DE, &FR_FR, &ES_ES, &NL_NL, &JA_JP,
];
static NEUTRALS: [(&str, &Culture); 6] = [
    ("en", &EN_US),
    ("de", &DE_DE),
    ("fr", &FR_FR),
    ("es", &ES_ES),
    ("nl", &NL_NL),
    ("ja", &JA_JP),
];

const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const EN_MONTHS_ABBR: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const EN_DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const EN_DAYS_ABBR: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

const fn numbers(
    decimal: &'static str,
    group: &'static str,
    currency: &'static str,
    currency_patterns: (u8, u8),
    percent_patterns: (u8, u8),
) -> NumberFormat {
    NumberFormat {
        decimal_separator: decimal,
        group_separator: group,
        group_sizes: &[3],
        decimal_digits: 2,
        negative_pattern: 1,
        currency_symbol: currency,
        currency_decimal_separator: decimal,
        currency_group_separator: group,
        currency_group_sizes: &[3],
        currency_decimal_digits: 2,
        currency_positive_pattern: currency_patterns.0,
        currency_negative_pattern: currency_patterns.1,
        percent_symbol: "%",
        per_mille_symbol: "\u{2030}",
        percent_decimal_separator: decimal,
        percent_group_separator: group,
        percent_group_sizes: &[3],
        percent_decimal_digits: 2,
        percent_positive_pattern: percent_patterns.0,
        percent_negative_pattern: percent_patterns.1,
        negative_sign: "-",
        positive_sign: "+",
        nan_symbol: "NaN",
        positive_infinity: "Infinity",
        negative_infinity: "-Infinity",
    }
}

static INVARIANT: Culture = Culture {
    name: "",
    number: numbers(".", ",", "\u{a4}", (0, 0), (0, 0)),
    datetime: DateTimeFormat {
        short_date: "MM/dd/yyyy",
        long_date: "dddd, dd MMMM yyyy",
        short_time: "HH:mm",
        long_time: "HH:mm:ss",
        full_date_time: "dddd, dd MMMM yyyy HH:mm:ss",
        month_day: "MMMM dd",
        year_month: "yyyy MMMM",
        date_separator: "/",
        time_separator: ":",
        am: "AM",
        pm: "PM",
        month_names: EN_MONTHS,
        abbreviated_month_names: EN_MONTHS_ABBR,
        day_names: EN_DAYS,
        abbreviated_day_names: EN_DAYS_ABBR,
        era: "A.D.",
    },
};

static EN_US: Culture = Culture {
    name: "en-US",
    number: numbers(".", ",", "$", (0, 0), (0, 0)),
    datetime: DateTimeFormat {
        short_date: "M/d/yyyy",
        long_date: "dddd, MMMM d, yyyy",
        short_time: "h:mm tt",
        long_time: "h:mm:ss tt",
        full_date_time: "dddd, MMMM d, yyyy h:mm:ss tt",
        month_day: "MMMM d",
        year_month: "MMMM yyyy",
        date_separator: "/",
        time_separator: ":",
        am: "AM",
        pm: "PM",
        month_names: EN_MONTHS,
        abbreviated_month_names: EN_MONTHS_ABBR,
        day_names: EN_DAYS,
        abbreviated_day_names: EN_DAYS_ABBR,
        era: "A.D.",
    },
};

static EN_GB: Culture = Culture {
    name: "en-GB",
    number: numbers(".", ",", "\u{a3}", (0, 1), (0, 0)),
    datetime: DateTimeFormat {
        short_date: "dd/MM/yyyy",
        long_date: "dd MMMM yyyy",
        short_time: "HH:mm",
        long_time: "HH:mm:ss",
        full_date_time: "dd MMMM yyyy HH:mm:ss",
        month_day: "dd MMMM",
        year_month: "MMMM yyyy",
        date_separator: "/",
        time_separator: ":",
        am: "AM",
        pm: "PM",
        month_names: EN_MONTHS,
        abbreviated_month_names: EN_MONTHS_ABBR,
        day_names: EN_DAYS,
        abbreviated_day_names: EN_DAYS_ABBR,
        era: "A.D.",
    },
};

static DE_DE: Culture = Culture {
    name: "de-DE",
    number: numbers(",", ".", "\u{20ac}", (3, 8), (0, 0)),
    datetime: DateTimeFormat {
        short_date: "dd.MM.yyyy",
        long_date: "dddd, d. MMMM yyyy",
        short_time: "HH:mm",
        long_time: "HH:mm:ss",
        full_date_time: "dddd, d. MMMM yyyy HH:mm:ss",
        month_day: "d. MMMM",
        year_month: "MMMM yyyy",
        date_separator: ".",
        time_separator: ":",
        am: "",
        pm: "",
        month_names: [
            "Januar",
            "Februar",
            "M\u{e4}rz",
            "April",
            "Mai",
            "Juni",
            "Juli",
            "August",
            "September",
            "Oktober",
            "November",
            "Dezember",
        ],
        abbreviated_month_names: [
            "Jan", "Feb", "Mrz", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez",
        ],
        day_names: [
            "Sonntag",
            "Montag",
            "Dienstag",
            "Mittwoch",
            "Donnerstag",
            "Freitag",
            "Samstag",
        ],
        abbreviated_day_names: ["So", "Mo", "Di", "Mi", "Do", "Fr", "Sa"],
        era: "n. Chr.",
    },
};

static FR_FR: Culture = Culture {
    name: "fr-FR",
    number: numbers(",", "\u{a0}", "\u{20ac}", (3, 8), (0, 0)),
    datetime: DateTimeFormat {
        short_date: "dd/MM/yyyy",
        long_date: "dddd d MMMM yyyy",
        short_time: "HH:mm",
        long_time: "HH:mm:ss",
        full_date_time: "dddd d MMMM yyyy HH:mm:ss",
        month_day: "d MMMM",
        year_month: "MMMM yyyy",
        date_separator: "/",
        time_separator: ":",
        am: "",
        pm: "",
        month_names: [
            "janvier",
            "f\u{e9}vrier",
            "mars",
            "avril",
            "mai",
            "juin",
            "juillet",
            "ao\u{fb}t",
            "septembre",
            "octobre",
            "novembre",
            "d\u{e9}cembre",
        ],
        abbreviated_month_names: [
            "janv.",
            "f\u{e9}vr.",
            "mars",
            "avr.",
            "mai",
            "juin",
            "juil.",
            "ao\u{fb}t",
            "sept.",
            "oct.",
            "nov.",
            "d\u{e9}c.",
        ],
        day_names: [
            "dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi",
        ],
        abbreviated_day_names: ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
        era: "ap. J.-C.",
    },
};

static ES_ES: Culture = Culture {
    name: "es-ES",
    number: numbers(",", ".", "\u{20ac}", (3, 8), (0, 0)),
    datetime: DateTimeFormat {
        short_date: "dd/MM/yyyy",
        long_date: "dddd, d' de 'MMMM' de 'yyyy",
        short_time: "H:mm",
        long_time: "H:mm:ss",
        full_date_time: "dddd, d' de 'MMMM' de 'yyyy H:mm:ss",
        month_day: "d' de 'MMMM",
        year_month: "MMMM' de 'yyyy",
        date_separator: "/",
        time_separator: ":",
        am: "",
        pm: "",
        month_names: [
            "enero",
            "febrero",
            "marzo",
            "abril",
            "mayo",
            "junio",
            "julio",
            "agosto",
            "septiembre",
            "octubre",
            "noviembre",
            "diciembre",
        ],
        abbreviated_month_names: [
            "ene.", "feb.", "mar.", "abr.", "may.", "jun.", "jul.", "ago.", "sep.", "oct.", "nov.",
            "dic.",
        ],
        day_names: [
            "domingo",
            "lunes",
            "martes",
            "mi\u{e9}rcoles",
            "jueves",
            "viernes",
            "s\u{e1}bado",
        ],
        abbreviated_day_names: ["do.", "lu.", "ma.", "mi.", "ju.", "vi.", "s\u{e1}."],
        era: "d. C.",
    },
};

static NL_NL: Culture = Culture {
    name: "nl-NL",
    number: numbers(",", ".", "\u{20ac}", (2, 12), (0, 0)),
    datetime: DateTimeFormat {
        short_date: "d-M-yyyy",
        long_date: "dddd d MMMM yyyy",
        short_time: "H:mm",
        long_time: "H:mm:ss",
        full_date_time: "dddd d MMMM yyyy H:mm:ss",
        month_day: "d MMMM",
        year_month: "MMMM yyyy",
        date_separator: "-",
        time_separator: ":",
        am: "",
        pm: "",
        month_names: [
            "januari",
            "februari",
            "maart",
            "april",
            "mei",
            "juni",
            "juli",
            "augustus",
            "september",
            "oktober",
            "november",
            "december",
        ],
        abbreviated_month_names: [
            "jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec",
        ],
        day_names: [
            "zondag",
            "maandag",
            "dinsdag",
            "woensdag",
            "donderdag",
            "vrijdag",
            "zaterdag",
        ],
        abbreviated_day_names: ["zo", "ma", "di", "wo", "do", "vr", "za"],
        era: "n.Chr.",
    },
};

static JA_JP: Culture = Culture {
    name: "ja-JP",
    number: NumberFormat {
        currency_decimal_digits: 0,
        ..numbers(".", ",", "\u{a5}", (0, 1), (1, 1))
    },
    datetime: DateTimeFormat {
        short_date: "yyyy/MM/dd",
        long_date: "yyyy'\u{5e74}'M'\u{6708}'d'\u{65e5}'",
        short_time: "H:mm",
        long_time: "H:mm:ss",
        full_date_time: "yyyy'\u{5e74}'M'\u{6708}'d'\u{65e5}' H:mm:ss",
        month_day: "M'\u{6708}'d'\u{65e5}'",
        year_month: "yyyy'\u{5e74}'M'\u{6708}'",
        date_separator: "/",
        time_separator: ":",
        am: "\u{5348}\u{524d}",
        pm: "\u{5348}\u{5f8c}",
        month_names: [
            "1\u{6708}",
            "2\u{6708}",
            "3\u{6708}",
            "4\u{6708}",
            "5\u{6708}",
            "6\u{6708}",
            "7\u{6708}",
            "8\u{6708}",
            "9\u{6708}",
            "10\u{6708}",
            "11\u{6708}",
            "12\u{6708}",
        ],
        abbreviated_month_names: [
            "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12",
        ],
        day_names: [
            "\u{65e5}\u{66dc}\u{65e5}",
            "\u{6708}\u{66dc}\u{65e5}",
            "\u{706b}\u{66dc}\u{65e5}",
            "\u{6c34}\u{66dc}\u{65e5}",
            "\u{6728}\u{66dc}\u{65e5}",
            "\u{91d1}\u{66dc}\u{65e5}",
            "\u{571f}\u{66dc}\u{65e5}",
        ],
        abbreviated_day_names: [
            "\u{65e5}", "\u{6708}", "\u{706b}", "\u{6c34}", "\u{6728}", "\u{91d1}", "\u{571f}",
        ],
        era: "\u{897f}\u{66a6}",
    },
};
