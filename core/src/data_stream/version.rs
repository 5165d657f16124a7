//! `DataStreamVersion` (Qt: `QDataStream::Version`).

use std::fmt;

/// The version of the serialization format a [`DataStream`](crate::DataStream)
/// reads and writes: Qt's version number.
///
/// Several Qt releases share a number (Qt 5.6 to 5.11 all use 17), so this
/// is a number with named constants rather than an enum: `QT_5_6 ==
/// QT_5_11`. Versions compare by number. The default is
/// [`NEWEST`](Self::NEWEST) (`QT_6_11`, 24), what Qt 6.11 and 6.12 report
/// as their default.
///
/// For the types sigloop streams, every version from `QT_4_6` on gives the
/// same bytes, except that `QT_6_7` and later write sizes of `0xfffffffe`
/// and more with a 64-bit extension. Older versions change how floats are
/// written (before `QT_4_6`), how null strings and byte arrays are written
/// (before `QT_3_0` and `QT_3_3`), and `QT_1_0` writes strings as Latin-1.
///
/// Qt: `QDataStream::Version`.
///
/// # Examples
///
/// ```
/// use sigloop_core::DataStreamVersion;
///
/// assert_eq!(DataStreamVersion::QT_5_15.number(), 19);
/// assert_eq!(DataStreamVersion::QT_5_13, DataStreamVersion::QT_5_15);
/// assert!(DataStreamVersion::QT_6_7 > DataStreamVersion::QT_6_5);
/// assert_eq!(DataStreamVersion::default(), DataStreamVersion::QT_6_11);
/// assert_eq!(DataStreamVersion::from_number(20), DataStreamVersion::QT_6_0);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DataStreamVersion(u8);

impl DataStreamVersion {
    /// Version 1 (Qt 1.x). Qt: `QDataStream::Qt_1_0`.
    pub const QT_1_0: Self = Self(1);
    /// Version 2 (Qt 2.0). Qt: `QDataStream::Qt_2_0`.
    pub const QT_2_0: Self = Self(2);
    /// Version 3 (Qt 2.1 to 2.3). Qt: `QDataStream::Qt_2_1`.
    pub const QT_2_1: Self = Self(3);
    /// Version 4 (Qt 3.0). Qt: `QDataStream::Qt_3_0`.
    pub const QT_3_0: Self = Self(4);
    /// Version 5 (Qt 3.1, 3.2). Qt: `QDataStream::Qt_3_1`.
    pub const QT_3_1: Self = Self(5);
    /// Version 6 (Qt 3.3). Qt: `QDataStream::Qt_3_3`.
    pub const QT_3_3: Self = Self(6);
    /// Version 7 (Qt 4.0, 4.1). Qt: `QDataStream::Qt_4_0`.
    pub const QT_4_0: Self = Self(7);
    /// Same as [`QT_4_0`](Self::QT_4_0) (7). Qt: `QDataStream::Qt_4_1`.
    pub const QT_4_1: Self = Self(7);
    /// Version 8 (Qt 4.2). Qt: `QDataStream::Qt_4_2`.
    pub const QT_4_2: Self = Self(8);
    /// Version 9 (Qt 4.3). Qt: `QDataStream::Qt_4_3`.
    pub const QT_4_3: Self = Self(9);
    /// Version 10 (Qt 4.4). Qt: `QDataStream::Qt_4_4`.
    pub const QT_4_4: Self = Self(10);
    /// Version 11 (Qt 4.5). Qt: `QDataStream::Qt_4_5`.
    pub const QT_4_5: Self = Self(11);
    /// Version 12 (Qt 4.6 to 4.8): the first where the floating-point
    /// precision setting applies. Qt: `QDataStream::Qt_4_6`.
    pub const QT_4_6: Self = Self(12);
    /// Same as [`QT_4_6`](Self::QT_4_6) (12). Qt: `QDataStream::Qt_4_7`.
    pub const QT_4_7: Self = Self(12);
    /// Same as [`QT_4_6`](Self::QT_4_6) (12). Qt: `QDataStream::Qt_4_8`.
    pub const QT_4_8: Self = Self(12);
    /// Same as [`QT_4_6`](Self::QT_4_6) (12). Qt: `QDataStream::Qt_4_9`.
    pub const QT_4_9: Self = Self(12);
    /// Version 13 (Qt 5.0). Qt: `QDataStream::Qt_5_0`.
    pub const QT_5_0: Self = Self(13);
    /// Version 14 (Qt 5.1). Qt: `QDataStream::Qt_5_1`.
    pub const QT_5_1: Self = Self(14);
    /// Version 15 (Qt 5.2, 5.3). Qt: `QDataStream::Qt_5_2`.
    pub const QT_5_2: Self = Self(15);
    /// Same as [`QT_5_2`](Self::QT_5_2) (15). Qt: `QDataStream::Qt_5_3`.
    pub const QT_5_3: Self = Self(15);
    /// Version 16 (Qt 5.4, 5.5). Qt: `QDataStream::Qt_5_4`.
    pub const QT_5_4: Self = Self(16);
    /// Same as [`QT_5_4`](Self::QT_5_4) (16). Qt: `QDataStream::Qt_5_5`.
    pub const QT_5_5: Self = Self(16);
    /// Version 17 (Qt 5.6 to 5.11). Qt: `QDataStream::Qt_5_6`.
    pub const QT_5_6: Self = Self(17);
    /// Same as [`QT_5_6`](Self::QT_5_6) (17). Qt: `QDataStream::Qt_5_7`.
    pub const QT_5_7: Self = Self(17);
    /// Same as [`QT_5_6`](Self::QT_5_6) (17). Qt: `QDataStream::Qt_5_8`.
    pub const QT_5_8: Self = Self(17);
    /// Same as [`QT_5_6`](Self::QT_5_6) (17). Qt: `QDataStream::Qt_5_9`.
    pub const QT_5_9: Self = Self(17);
    /// Same as [`QT_5_6`](Self::QT_5_6) (17); the fortune server example
    /// pins it. Qt: `QDataStream::Qt_5_10`.
    pub const QT_5_10: Self = Self(17);
    /// Same as [`QT_5_6`](Self::QT_5_6) (17). Qt: `QDataStream::Qt_5_11`.
    pub const QT_5_11: Self = Self(17);
    /// Version 18 (Qt 5.12). Qt: `QDataStream::Qt_5_12`.
    pub const QT_5_12: Self = Self(18);
    /// Version 19 (Qt 5.13 to 5.15). Qt: `QDataStream::Qt_5_13`.
    pub const QT_5_13: Self = Self(19);
    /// Same as [`QT_5_13`](Self::QT_5_13) (19). Qt: `QDataStream::Qt_5_14`.
    pub const QT_5_14: Self = Self(19);
    /// Same as [`QT_5_13`](Self::QT_5_13) (19); Qt 5.15's default.
    /// Qt: `QDataStream::Qt_5_15`.
    pub const QT_5_15: Self = Self(19);
    /// Version 20 (Qt 6.0 to 6.5). Qt: `QDataStream::Qt_6_0`.
    pub const QT_6_0: Self = Self(20);
    /// Same as [`QT_6_0`](Self::QT_6_0) (20). Qt: `QDataStream::Qt_6_1`.
    pub const QT_6_1: Self = Self(20);
    /// Same as [`QT_6_0`](Self::QT_6_0) (20). Qt: `QDataStream::Qt_6_2`.
    pub const QT_6_2: Self = Self(20);
    /// Same as [`QT_6_0`](Self::QT_6_0) (20). Qt: `QDataStream::Qt_6_3`.
    pub const QT_6_3: Self = Self(20);
    /// Same as [`QT_6_0`](Self::QT_6_0) (20). Qt: `QDataStream::Qt_6_4`.
    pub const QT_6_4: Self = Self(20);
    /// Same as [`QT_6_0`](Self::QT_6_0) (20). Qt: `QDataStream::Qt_6_5`.
    pub const QT_6_5: Self = Self(20);
    /// Version 21 (Qt 6.6). Qt: `QDataStream::Qt_6_6`.
    pub const QT_6_6: Self = Self(21);
    /// Version 22 (Qt 6.7 to 6.9): the first with the 64-bit size
    /// extension (`fffffffe` + quint64). Qt: `QDataStream::Qt_6_7`.
    pub const QT_6_7: Self = Self(22);
    /// Same as [`QT_6_7`](Self::QT_6_7) (22). Qt: `QDataStream::Qt_6_8`.
    pub const QT_6_8: Self = Self(22);
    /// Same as [`QT_6_7`](Self::QT_6_7) (22). Qt: `QDataStream::Qt_6_9`.
    pub const QT_6_9: Self = Self(22);
    /// Version 23 (Qt 6.10). Qt: `QDataStream::Qt_6_10`.
    pub const QT_6_10: Self = Self(23);
    /// Version 24 (Qt 6.11). Qt: `QDataStream::Qt_6_11`.
    pub const QT_6_11: Self = Self(24);
    /// The newest version sigloop knows, [`QT_6_11`](Self::QT_6_11) (24),
    /// and the default. Qt: `QDataStream::Qt_DefaultCompiledVersion`.
    pub const NEWEST: Self = Self::QT_6_11;

    /// The version with Qt's number `number`. Any number is accepted, as
    /// Qt's `setVersion(int)` does; numbers above [`NEWEST`](Self::NEWEST)
    /// behave like it.
    ///
    /// # Examples
    ///
    /// ```
    /// use sigloop_core::DataStreamVersion;
    /// assert_eq!(DataStreamVersion::from_number(17), DataStreamVersion::QT_5_10);
    /// ```
    pub const fn from_number(number: u8) -> Self {
        Self(number)
    }

    /// Qt's number for this version. Qt: `QDataStream::version()`.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(sigloop_core::DataStreamVersion::QT_4_0.number(), 7);
    /// ```
    pub const fn number(self) -> u8 {
        self.0
    }
}

impl Default for DataStreamVersion {
    /// [`DataStreamVersion::NEWEST`].
    fn default() -> Self {
        Self::NEWEST
    }
}

impl From<DataStreamVersion> for u8 {
    /// Qt's number, as [`DataStreamVersion::number`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(u8::from(sigloop_core::DataStreamVersion::QT_6_6), 21);
    /// ```
    fn from(version: DataStreamVersion) -> u8 {
        version.0
    }
}

impl fmt::Debug for DataStreamVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DataStreamVersion({})", self.0)
    }
}
