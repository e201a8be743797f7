// luxon, as every module of nsbackup uses it: with the default locale pinned to en-US. Its dates are machine formats
// (label values, file names, numeric table columns) that must not depend on the machine's locale, and luxon finds
// the system locale with an Intl.DateTimeFormat: 15-20 ms of ICU set-up on the first date of every run (a list of
// snapshots, a backup's labels), even in UTC.
import { Settings } from 'luxon';

Settings.defaultLocale = 'en-US';

export { DateTime, Duration, IANAZone } from 'luxon';
