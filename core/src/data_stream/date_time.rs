//! The value types a `QVariant` carries that Rust has no standard type
//! for: [`Date`], [`Time`], [`DateTime`] (with its [`TimeSpec`]) and
//! [`Uuid`], with Qt's `QDataStream` encodings for every stream version.
//!
//! They hold exactly what Qt puts on the wire (a Julian day, milliseconds
//! since midnight, a time spec) and convert to and from the calendar; they
//! do no time-zone arithmetic, which needs a time-zone database.

use std::fmt;

use super::{ByteOrder, DataStream, DataStreamVersion, ReadFrom, WriteTo};

/// Qt's Julian day of a null `QDate` (`QDate::nullJd()`).
const NULL_JD: i64 = i64::MIN;
/// Qt's milliseconds of a null `QTime`.
const NULL_MSECS: u32 = u32::MAX;
const MSECS_PER_DAY: u32 = 86_400_000;

/// A calendar date, stored as Qt stores it: a Julian day number, or null.
/// Dates convert from and to the proleptic Gregorian calendar with Qt's
/// year numbering (no year 0: 1 BC is year -1).
///
/// Qt: `QDate`.
///
/// # Examples
///
/// ```
/// use sigloop_core::Date;
///
/// let leap = Date::from_ymd(2024, 2, 29).unwrap();
/// assert_eq!(leap.julian_day(), Some(2_460_370));
/// assert_eq!(leap.ymd(), Some((2024, 2, 29)));
/// assert_eq!(Date::from_ymd(2023, 2, 29), None);
/// assert!(Date::default().is_null());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Date {
    jd: i64,
}

impl Default for Date {
    fn default() -> Self {
        Date { jd: NULL_JD }
    }
}

impl Date {
    /// The null date. Qt: `QDate()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_core::Date::null().julian_day(), None);
    /// ```
    pub const fn null() -> Self {
        Date { jd: NULL_JD }
    }

    /// The date of Julian day `jd`. Qt: `QDate::fromJulianDay()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::Date;
    /// assert_eq!(Date::from_julian_day(2_451_545).ymd(), Some((2000, 1, 1)));
    /// ```
    pub const fn from_julian_day(jd: i64) -> Self {
        Date { jd }
    }

    /// The date of `year`-`month`-`day` in the Gregorian calendar; `None`
    /// if there is no such day (year 0 does not exist).
    /// Qt: `QDate(y, m, d)`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::Date;
    /// assert_eq!(Date::from_ymd(-1, 12, 31).unwrap().julian_day(), Some(1_721_425));
    /// assert_eq!(Date::from_ymd(0, 1, 1), None);
    /// ```
    pub fn from_ymd(year: i32, month: u32, day: u32) -> Option<Self> {
        if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        // Astronomical year numbering: 1 BC is year 0.
        let y = i64::from(year) + i64::from(year < 0);
        let a = i64::from(month < 3);
        let y = y + 4800 - a;
        let m = i64::from(month) + 12 * a - 3;
        let jd = i64::from(day) + (153 * m + 2) / 5 + 365 * y + y.div_euclid(4) - y.div_euclid(100)
            + y.div_euclid(400)
            - 32045;
        Some(Date { jd })
    }

    /// Whether this is the null date. Qt: `QDate::isNull()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::Date::from_julian_day(0).is_null());
    /// ```
    pub const fn is_null(self) -> bool {
        self.jd == NULL_JD
    }

    /// The Julian day; `None` for the null date. Qt: `QDate::toJulianDay()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_core::Date::from_julian_day(7).julian_day(), Some(7));
    /// ```
    pub const fn julian_day(self) -> Option<i64> {
        if self.is_null() {
            None
        } else {
            Some(self.jd)
        }
    }

    /// (year, month, day) in the Gregorian calendar; `None` for the null
    /// date or a day too far out to convert. Qt: `QDate::getDate()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::Date;
    /// assert_eq!(Date::from_julian_day(38).ymd(), Some((-4713, 1, 1)));
    /// ```
    pub fn ymd(self) -> Option<(i32, u32, u32)> {
        // Beyond this the year leaves i32 (Qt's own range is smaller).
        const LIMIT: i64 = 1 << 40;
        let jd = self.julian_day().filter(|jd| jd.abs() < LIMIT)?;
        let a = jd + 32044;
        let b = (4 * a + 3).div_euclid(146_097);
        let c = a - (146_097 * b).div_euclid(4);
        let d = (4 * c + 3).div_euclid(1461);
        let e = c - (1461 * d).div_euclid(4);
        let m = (5 * e + 2).div_euclid(153);
        let day = e - (153 * m + 2).div_euclid(5) + 1;
        let month = m + 3 - 12 * m.div_euclid(10);
        let year = 100 * b + d - 4800 + m.div_euclid(10);
        let year = if year <= 0 { year - 1 } else { year };
        Some((
            i32::try_from(year).ok()?,
            u32::try_from(month).ok()?,
            u32::try_from(day).ok()?,
        ))
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    // Astronomical year for the leap rule.
    let y = i64::from(year) + i64::from(year < 0);
    let leap = y.rem_euclid(4) == 0 && (y.rem_euclid(100) != 0 || y.rem_euclid(400) == 0);
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.ymd() {
            Some((y, m, d)) => write!(f, "Date({y:04}-{m:02}-{d:02})"),
            None if self.is_null() => f.write_str("Date(null)"),
            None => write!(f, "Date(jd {})", self.jd),
        }
    }
}

impl WriteTo for Date {
    /// A `QDate`: its Julian day, a `qint64` from
    /// [`QT_5_0`](DataStreamVersion::QT_5_0) on (null: the smallest
    /// `qint64`), a `quint32` before (null: 0).
    fn write_to(&self, stream: &mut DataStream<'_>) {
        if stream.version() < DataStreamVersion::QT_5_0 {
            // Qt truncates; the null day becomes 0.
            stream.write(&(self.jd as u32));
        } else {
            stream.write(&self.jd);
        }
    }
}

impl ReadFrom for Date {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        if stream.version() < DataStreamVersion::QT_5_0 {
            match stream.read::<u32>() {
                0 => Date::null(),
                jd => Date::from_julian_day(i64::from(jd)),
            }
        } else {
            Date::from_julian_day(stream.read::<i64>())
        }
    }
}

/// A time of day, stored as Qt stores it: milliseconds since midnight, or
/// null. Values read from a stream are kept as they came, even out of
/// range (then [`is_valid`](Self::is_valid) is false), so they write back
/// unchanged.
///
/// Qt: `QTime`.
///
/// # Examples
///
/// ```
/// use sigloop_core::Time;
///
/// let t = Time::from_hms_msec(13, 14, 15, 16).unwrap();
/// assert_eq!(t.msecs_since_midnight(), Some(47_655_016));
/// assert_eq!(t.hms_msec(), Some((13, 14, 15, 16)));
/// assert_eq!(Time::from_hms_msec(24, 0, 0, 0), None);
/// assert!(Time::default().is_null());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Time {
    msecs: u32,
}

impl Default for Time {
    fn default() -> Self {
        Time { msecs: NULL_MSECS }
    }
}

impl Time {
    /// The null time. Qt: `QTime()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::Time::null().is_null());
    /// ```
    pub const fn null() -> Self {
        Time { msecs: NULL_MSECS }
    }

    /// The time `msecs` milliseconds after midnight; `None` from 24 h on.
    /// Qt: `QTime::fromMSecsSinceStartOfDay()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::Time;
    /// assert_eq!(Time::from_msecs_since_midnight(1_000).unwrap().hms_msec(), Some((0, 0, 1, 0)));
    /// assert_eq!(Time::from_msecs_since_midnight(86_400_000), None);
    /// ```
    pub const fn from_msecs_since_midnight(msecs: u32) -> Option<Self> {
        if msecs < MSECS_PER_DAY {
            Some(Time { msecs })
        } else {
            None
        }
    }

    /// The time `h:m:s.ms`; `None` if a field is out of range.
    /// Qt: `QTime(h, m, s, ms)`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::Time::from_hms_msec(23, 59, 59, 999).is_some());
    /// ```
    pub const fn from_hms_msec(h: u32, m: u32, s: u32, ms: u32) -> Option<Self> {
        if h >= 24 || m >= 60 || s >= 60 || ms >= 1000 {
            return None;
        }
        Some(Time {
            msecs: ((h * 60 + m) * 60 + s) * 1000 + ms,
        })
    }

    /// Whether this is the null time. Qt: `QTime::isNull()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::Time::from_hms_msec(0, 0, 0, 0).unwrap().is_null());
    /// ```
    pub const fn is_null(self) -> bool {
        self.msecs == NULL_MSECS
    }

    /// Whether this is a time of day (not null, under 24 h).
    /// Qt: `QTime::isValid()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::Time::null().is_valid());
    /// ```
    pub const fn is_valid(self) -> bool {
        self.msecs < MSECS_PER_DAY
    }

    /// Milliseconds since midnight; `None` if not valid.
    /// Qt: `QTime::msecsSinceStartOfDay()`.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::Time;
    /// assert_eq!(Time::from_hms_msec(0, 0, 2, 5).unwrap().msecs_since_midnight(), Some(2_005));
    /// ```
    pub const fn msecs_since_midnight(self) -> Option<u32> {
        if self.is_valid() {
            Some(self.msecs)
        } else {
            None
        }
    }

    /// (hour, minute, second, millisecond); `None` if not valid.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_core::Time::null().hms_msec(), None);
    /// ```
    pub const fn hms_msec(self) -> Option<(u32, u32, u32, u32)> {
        if !self.is_valid() {
            return None;
        }
        let ms = self.msecs;
        Some((ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000))
    }
}

impl fmt::Debug for Time {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.hms_msec() {
            Some((h, m, s, ms)) => write!(f, "Time({h:02}:{m:02}:{s:02}.{ms:03})"),
            None if self.is_null() => f.write_str("Time(null)"),
            None => write!(f, "Time({} ms)", self.msecs),
        }
    }
}

impl WriteTo for Time {
    /// A `QTime`: milliseconds since midnight as a `quint32` (null:
    /// `ffffffff`; before [`QT_4_0`](DataStreamVersion::QT_4_0), 0).
    fn write_to(&self, stream: &mut DataStream<'_>) {
        let msecs = if self.is_null() && stream.version() < DataStreamVersion::QT_4_0 {
            0
        } else {
            self.msecs
        };
        stream.write(&msecs);
    }
}

impl ReadFrom for Time {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        let msecs = stream.read::<u32>();
        if msecs == 0 && stream.version() < DataStreamVersion::QT_4_0 {
            return Time::null();
        }
        Time { msecs }
    }
}

/// How a [`DateTime`]'s date and time are to be read.
///
/// Qt: `Qt::TimeSpec`, with the offset or zone that goes with it.
///
/// # Examples
///
/// ```
/// use sigloop_core::TimeSpec;
/// assert_eq!(TimeSpec::default(), TimeSpec::LocalTime);
/// let paris = TimeSpec::TimeZone("Europe/Paris".into());
/// assert_ne!(paris, TimeSpec::OffsetFromUtc(3600));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub enum TimeSpec {
    /// The local time of whoever reads it. Qt: `Qt::LocalTime`.
    #[default]
    LocalTime,
    /// UTC. Qt: `Qt::UTC`.
    Utc,
    /// A fixed offset east of UTC, in seconds. Qt: `Qt::OffsetFromUTC`.
    OffsetFromUtc(i32),
    /// A time zone, by its IANA id ("Europe/Berlin"). Qt: `Qt::TimeZone`
    /// with a `QTimeZone` made from that id.
    TimeZone(String),
}

/// A date and a time with their [`TimeSpec`], as a `QDateTime` puts them
/// on the wire. Null when both the date and the time are null.
///
/// Qt: `QDateTime`.
///
/// # Examples
///
/// ```
/// use sigloop_core::{Date, DateTime, Time, TimeSpec};
///
/// let dt = DateTime {
///     date: Date::from_ymd(2024, 2, 29).unwrap(),
///     time: Time::from_hms_msec(1, 2, 3, 4).unwrap(),
///     spec: TimeSpec::Utc,
/// };
/// assert!(!dt.is_null());
/// assert!(DateTime::default().is_null());
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default)]
pub struct DateTime {
    /// The date. Qt: `QDateTime::date()`.
    pub date: Date,
    /// The time of day. Qt: `QDateTime::time()`.
    pub time: Time,
    /// How to read them. Qt: `QDateTime::timeSpec()`.
    pub spec: TimeSpec,
}

impl DateTime {
    /// Whether both parts are null. Qt: `QDateTime::isNull()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(sigloop_core::DateTime::default().is_null());
    /// ```
    pub fn is_null(&self) -> bool {
        self.date.is_null() && self.time.is_null()
    }

    /// This date and time shifted by `-seconds` (to UTC from an offset).
    fn shifted(&self, seconds: i32) -> (Date, Time) {
        let (Some(jd), Some(ms)) = (self.date.julian_day(), self.time.msecs_since_midnight())
        else {
            return (self.date, self.time);
        };
        let day = i64::from(MSECS_PER_DAY);
        let total = i128::from(jd) * i128::from(day) + i128::from(ms) - i128::from(seconds) * 1000;
        let jd = total.div_euclid(i128::from(day));
        let ms = total.rem_euclid(i128::from(day));
        match (i64::try_from(jd), u32::try_from(ms)) {
            (Ok(jd), Ok(ms)) => (Date::from_julian_day(jd), Time { msecs: ms }),
            _ => (self.date, self.time),
        }
    }
}

/// Qt's `Qt::TimeSpec` numbers, written from
/// [`QT_5_2`](DataStreamVersion::QT_5_2) on (and by Qt 5.0).
mod spec_code {
    pub(super) const LOCAL: i8 = 0;
    pub(super) const UTC: i8 = 1;
    pub(super) const OFFSET: i8 = 2;
    pub(super) const ZONE: i8 = 3;
}

/// Qt's internal spec numbers, written by Qt 4.0 to 5.1 (not 5.0).
mod old_spec_code {
    pub(super) const LOCAL_UNKNOWN: i8 = -1;
    pub(super) const UTC: i8 = 2;
    pub(super) const OFFSET: i8 = 3;
    pub(super) const ZONE: i8 = 4;
}

impl WriteTo for DateTime {
    /// A `QDateTime`: the [`Date`], the [`Time`], then the spec, in the
    /// layout of the stream's version. From
    /// [`QT_5_2`](DataStreamVersion::QT_5_2) on: a `qint8` spec, then the
    /// offset (`qint32` seconds) or the zone's id (a `QString`). An offset
    /// of 0 is written as UTC (Qt makes such a `QDateTime` UTC). Qt 5.0
    /// wrote every date-time shifted to UTC; sigloop shifts fixed offsets
    /// and, lacking a time-zone database, writes local and zoned times
    /// unshifted.
    fn write_to(&self, stream: &mut DataStream<'_>) {
        let version = stream.version();
        if version >= DataStreamVersion::QT_5_2 {
            stream.write(&self.date).write(&self.time);
            match &self.spec {
                TimeSpec::LocalTime => stream.write(&spec_code::LOCAL),
                TimeSpec::Utc | TimeSpec::OffsetFromUtc(0) => stream.write(&spec_code::UTC),
                TimeSpec::OffsetFromUtc(offset) => stream.write(&spec_code::OFFSET).write(offset),
                TimeSpec::TimeZone(id) => stream.write(&spec_code::ZONE).write(id.as_str()),
            };
        } else if version == DataStreamVersion::QT_5_0 {
            let (date, time, code) = match &self.spec {
                TimeSpec::LocalTime => (self.date, self.time, spec_code::LOCAL),
                TimeSpec::Utc | TimeSpec::OffsetFromUtc(0) => {
                    (self.date, self.time, spec_code::UTC)
                }
                TimeSpec::OffsetFromUtc(offset) => {
                    let (date, time) = self.shifted(*offset);
                    (date, time, spec_code::OFFSET)
                }
                TimeSpec::TimeZone(_) => (self.date, self.time, spec_code::ZONE),
            };
            stream.write(&date).write(&time).write(&code);
        } else if version >= DataStreamVersion::QT_4_0 {
            let code = match &self.spec {
                TimeSpec::LocalTime => old_spec_code::LOCAL_UNKNOWN,
                TimeSpec::Utc | TimeSpec::OffsetFromUtc(0) => old_spec_code::UTC,
                TimeSpec::OffsetFromUtc(_) => old_spec_code::OFFSET,
                TimeSpec::TimeZone(_) => old_spec_code::ZONE,
            };
            stream.write(&self.date).write(&self.time).write(&code);
        } else {
            stream.write(&self.date).write(&self.time);
        }
    }
}

impl ReadFrom for DateTime {
    /// Reads what [`WriteTo`] writes, with Qt's reading of each layout:
    /// before [`QT_5_2`](DataStreamVersion::QT_5_2) an offset or zone has
    /// no data on the wire, and Qt reads those date-times as UTC (Qt 5.0:
    /// every spec but local time). An unknown spec reads as local time.
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        let version = stream.version();
        let date = stream.read::<Date>();
        let time = stream.read::<Time>();
        let spec = if version >= DataStreamVersion::QT_5_2 {
            match stream.read::<i8>() {
                spec_code::UTC => TimeSpec::Utc,
                spec_code::OFFSET => match stream.read::<i32>() {
                    0 => TimeSpec::Utc,
                    offset => TimeSpec::OffsetFromUtc(offset),
                },
                spec_code::ZONE => TimeSpec::TimeZone(stream.read()),
                _ => TimeSpec::LocalTime,
            }
        } else if version == DataStreamVersion::QT_5_0 {
            match stream.read::<i8>() {
                spec_code::LOCAL => TimeSpec::LocalTime,
                _ => TimeSpec::Utc,
            }
        } else if version >= DataStreamVersion::QT_4_0 {
            match stream.read::<i8>() {
                old_spec_code::UTC | old_spec_code::OFFSET => TimeSpec::Utc,
                _ => TimeSpec::LocalTime,
            }
        } else {
            TimeSpec::LocalTime
        };
        if !stream.is_ok() {
            return DateTime::default();
        }
        DateTime { date, time, spec }
    }
}

/// A universally unique identifier, as its 16 bytes in RFC 4122 order.
///
/// Qt: `QUuid`.
///
/// # Examples
///
/// ```
/// use sigloop_core::Uuid;
///
/// let id = Uuid::from_bytes([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0,
///                            0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]);
/// assert_eq!(id.to_string(), "{12345678-9abc-def0-1234-56789abcdef0}");
/// assert!(Uuid::default().is_nil());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Uuid([u8; 16]);

impl Uuid {
    /// The id with these bytes (RFC 4122 order). Qt: `QUuid::fromRfc4122()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_core::Uuid::from_bytes([7; 16]).as_bytes(), &[7; 16]);
    /// ```
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Uuid(bytes)
    }

    /// The 16 bytes, RFC 4122 order. Qt: `QUuid::toRfc4122()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_core::Uuid::default().as_bytes(), &[0; 16]);
    /// ```
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Whether every byte is 0. Qt: `QUuid::isNull()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!sigloop_core::Uuid::from_bytes([1; 16]).is_nil());
    /// ```
    pub fn is_nil(&self) -> bool {
        self.0 == [0; 16]
    }

    /// The bytes in the stream's order: RFC 4122 when big-endian; with
    /// the three leading fields (32, 16 and 16 bits) byte-swapped when
    /// little-endian, as Qt does.
    fn stream_bytes(bytes: [u8; 16], order: ByteOrder) -> [u8; 16] {
        let mut out = bytes;
        if order == ByteOrder::LittleEndian {
            out[0..4].reverse();
            out[4..6].reverse();
            out[6..8].reverse();
        }
        out
    }
}

impl fmt::Display for Uuid {
    /// Qt's `QUuid::toString()` form: `{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("{")?;
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        f.write_str("}")
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

impl WriteTo for Uuid {
    /// A `QUuid`: 16 raw bytes (see [`Uuid`] for the order).
    fn write_to(&self, stream: &mut DataStream<'_>) {
        let bytes = Uuid::stream_bytes(self.0, stream.byte_order());
        stream.write_raw_data(&bytes);
    }
}

impl ReadFrom for Uuid {
    fn read_from(stream: &mut DataStream<'_>) -> Self {
        let mut bytes = [0; 16];
        if stream.read_raw_data(&mut bytes) != Some(16) {
            return Uuid::default();
        }
        Uuid(Uuid::stream_bytes(bytes, stream.byte_order()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn julian_days_match_qt_and_convert_both_ways() {
        // Values from Qt's QDate::toJulianDay().
        for (ymd, jd) in [
            ((2024, 2, 29), 2_460_370),
            ((1, 1, 1), 1_721_426),
            ((-1, 12, 31), 1_721_425),
            ((-4713, 1, 1), 38),
            ((1970, 1, 1), 2_440_588),
        ] {
            let date = Date::from_ymd(ymd.0, ymd.1, ymd.2).unwrap();
            assert_eq!(date.julian_day(), Some(jd), "{ymd:?}");
            assert_eq!(date.ymd(), Some(ymd));
        }
        for jd in (-3_000_000..3_000_000).step_by(997) {
            let (y, m, d) = Date::from_julian_day(jd).ymd().unwrap();
            assert_eq!(Date::from_ymd(y, m, d).unwrap().julian_day(), Some(jd));
        }
        assert_eq!(Date::from_julian_day(i64::MAX).ymd(), None);
        assert_eq!(Date::from_ymd(1900, 2, 29), None);
        assert!(Date::from_ymd(2000, 2, 29).is_some());
    }

    #[test]
    fn a_fixed_offset_shifts_across_midnight_for_qt_5_0() {
        let dt = DateTime {
            date: Date::from_ymd(2024, 3, 1).unwrap(),
            time: Time::from_hms_msec(0, 30, 0, 0).unwrap(),
            spec: TimeSpec::OffsetFromUtc(3600),
        };
        let (date, time) = dt.shifted(3600);
        assert_eq!(date.ymd(), Some((2024, 2, 29)));
        assert_eq!(time.hms_msec(), Some((23, 30, 0, 0)));
    }
}
