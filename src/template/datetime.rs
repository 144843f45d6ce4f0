//! Ansible's date filters: `to_datetime` (Python's `datetime.strptime`, a naive datetime) and
//! `strftime` (Python's `time.strftime` of epoch seconds, the control machine's local time unless
//! `utc=True`), with the datetime and timedelta values roles compute with: subtracting two
//! datetimes (see `datetime_sub`) gives a timedelta whose `.days`, `.seconds` and
//! `.total_seconds()` work; each prints as Python's `str()` does.

// minijinja hands filters their arguments by value (`String`, `Kwargs`): that is its signature.
#![allow(clippy::needless_pass_by_value)]

use std::fmt::{self, Write as _};
use std::sync::Arc;

use chrono::format::{Parsed, StrftimeItems};
use chrono::{Datelike, Local, NaiveDateTime, TimeZone, Timelike, Utc};
use minijinja::value::{DynObject, Kwargs, Object, ObjectRepr, Value};
use minijinja::{Environment, Error, State};

use super::filters::invalid;

/// The name the subtraction rewrite (`datetime_sub`) calls `a - b` by.
pub(super) const SUB: &str = "__recon_datetime_sub";

/// Registers `to_datetime`, `strftime` (and their `ansible.builtin.` names) and the subtraction.
pub(crate) fn register(env: &mut Environment<'static>) {
    for prefix in ["", "ansible.builtin."] {
        env.add_filter(format!("{prefix}to_datetime"), to_datetime);
        env.add_filter(format!("{prefix}strftime"), strftime);
    }
    env.add_function(SUB, subtract);
}

/// A naive datetime, as Python's `datetime.datetime` without a zone.
#[derive(Debug, Clone, Copy)]
pub(super) struct DateTime(NaiveDateTime);

/// A difference of datetimes, as Python's `datetime.timedelta`, in microseconds.
#[derive(Debug, Clone, Copy)]
pub(super) struct TimeDelta(i64);

/// `to_datetime(format='%Y-%m-%d %H:%M:%S')`: Python's `strptime`, fields the format lacks
/// taken from 1900-01-01 00:00:00 as Python takes them.
fn to_datetime(text: String, format: Option<String>) -> Result<Value, Error> {
    let format = format.unwrap_or_else(|| "%Y-%m-%d %H:%M:%S".to_owned());
    // Python reads 1 to 6 digits for `%f`; chrono reads any after a dot (`%.f`), 6 without.
    let chrono_format = format.replace(".%f", "%.f").replace("%f", "%6f");
    let mut parsed = Parsed::new();
    let fail = |why: &dyn fmt::Display| {
        invalid(format!(
            "to_datetime: time data '{text}' does not match format '{format}' ({why})"
        ))
    };
    chrono::format::parse(&mut parsed, &text, StrftimeItems::new(&chrono_format))
        .map_err(|e| fail(&e))?;
    fill_defaults(&mut parsed).map_err(|e| fail(&e))?;
    let at = parsed
        .to_naive_datetime_with_offset(0)
        .map_err(|e| fail(&e))?;
    Ok(Value::from_object(DateTime(at)))
}

/// What Python's `strptime` assumes for the fields a format does not give.
fn fill_defaults(parsed: &mut Parsed) -> chrono::format::ParseResult<()> {
    if parsed.year().is_none() && parsed.year_mod_100().is_none() && parsed.isoyear().is_none() {
        parsed.set_year(1900)?;
    }
    let dated = parsed.ordinal().is_some()
        || parsed.isoweek().is_some()
        || parsed.week_from_mon().is_some()
        || parsed.week_from_sun().is_some();
    if !dated {
        if parsed.month().is_none() {
            parsed.set_month(1)?;
        }
        if parsed.day().is_none() {
            parsed.set_day(1)?;
        }
    }
    if parsed.hour_mod_12().is_none() {
        parsed.set_hour(0)?;
    } else if parsed.hour_div_12().is_none() {
        parsed.set_ampm(false)?;
    }
    if parsed.minute().is_none() {
        parsed.set_minute(0)?;
    }
    if parsed.second().is_none() {
        parsed.set_second(0)?;
    }
    Ok(())
}

/// `strftime(second=None, utc=False)` on a format: Python's `time.strftime` of the epoch
/// seconds (now without them), in the control machine's local time unless `utc`.
fn strftime(
    format: String,
    second: Option<Value>,
    utc: Option<bool>,
    kwargs: Kwargs,
) -> Result<String, Error> {
    let second = kwargs.get::<Option<Value>>("second")?.or(second);
    let utc = kwargs.get::<Option<bool>>("utc")?.or(utc).unwrap_or(false);
    kwargs.assert_all_used()?;
    let at = match second.filter(|s| !s.is_none()) {
        None => Utc::now(),
        Some(s) => {
            let secs = epoch_seconds(&s)
                .ok_or_else(|| invalid(format!("Invalid value for epoch value ({s})")))?;
            #[allow(clippy::cast_possible_truncation)]
            Utc.timestamp_opt(secs.floor() as i64, 0)
                .single()
                .ok_or_else(|| invalid(format!("Invalid value for epoch value ({s})")))?
        }
    };
    if utc {
        let zone = Zone {
            name: "GMT",
            offset: "+0000",
            epoch: at.timestamp(),
        };
        render(&at.naive_utc(), &format, &zone)
    } else {
        let local = at.with_timezone(&Local);
        let offset = local.format("%z").to_string();
        let zone = Zone {
            name: if offset == "+0000" { "UTC" } else { &offset },
            offset: &offset,
            epoch: at.timestamp(),
        };
        render(&local.naive_local(), &format, &zone)
    }
}

/// Python's `float(second)`: a number or a numeric string.
fn epoch_seconds(value: &Value) -> Option<f64> {
    match value.as_str() {
        Some(s) => s.trim().parse().ok(),
        None => f64::try_from(value.clone()).ok(),
    }
}

/// How `%Z`, `%z` and `%s` print for one instant (C's `strftime` takes them from the zone).
struct Zone<'a> {
    name: &'a str,
    offset: &'a str,
    epoch: i64,
}

/// Formats `at` with C's `strftime` codes (chrono's, which are the same for the common ones),
/// `%Z`, `%z` and `%s` as `zone` says.
fn render(at: &NaiveDateTime, format: &str, zone: &Zone<'_>) -> Result<String, Error> {
    let format = format
        .replace("%%", "\u{0}")
        .replace("%Z", &zone.name.replace('%', "%%"))
        .replace("%z", zone.offset)
        .replace("%s", &zone.epoch.to_string())
        .replace("%f", "%6f")
        .replace('\u{0}', "%%");
    let mut out = String::new();
    write!(out, "{}", at.format_with_items(StrftimeItems::new(&format)))
        .map_err(|_| invalid(format!("strftime: `{format}` is not a valid format")))?;
    Ok(out)
}

/// `a - b` where either side is a datetime or timedelta, as Python computes it.
fn subtract(a: Value, b: Value) -> Result<Value, Error> {
    let date = |v: &Value| v.downcast_object_ref::<DateTime>().map(|d| d.0);
    let delta = |v: &Value| v.downcast_object_ref::<TimeDelta>().map(|d| d.0);
    let micros = |d: chrono::TimeDelta| d.num_microseconds().unwrap_or(i64::MAX);
    let value = match (date(&a), date(&b), delta(&a), delta(&b)) {
        (Some(x), Some(y), _, _) => Value::from_object(TimeDelta(micros(x - y))),
        (Some(x), None, _, Some(d)) => Value::from_object(DateTime(
            x.checked_sub_signed(chrono::TimeDelta::microseconds(d))
                .ok_or_else(|| invalid("date value out of range"))?,
        )),
        (None, None, Some(x), Some(y)) => Value::from_object(TimeDelta(x - y)),
        _ => {
            return Err(invalid(format!(
                "unsupported operand type(s) for -: '{}' and '{}'",
                type_name(&a),
                type_name(&b)
            )))
        }
    };
    Ok(value)
}

/// Python's type name of a value, for the error a wrong subtraction gives.
fn type_name(v: &Value) -> String {
    if v.downcast_object_ref::<DateTime>().is_some() {
        "datetime.datetime".to_owned()
    } else if v.downcast_object_ref::<TimeDelta>().is_some() {
        "datetime.timedelta".to_owned()
    } else {
        v.kind().to_string()
    }
}

impl Object for DateTime {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    /// `a | to_datetime < b | to_datetime` compares the instants, as Python does.
    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<std::cmp::Ordering> {
        Some(self.0.cmp(&other.downcast_ref::<Self>()?.0))
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let d = self.0;
        Some(Value::from(match key.as_str()? {
            "year" => i64::from(d.year()),
            "month" => i64::from(d.month()),
            "day" => i64::from(d.day()),
            "hour" => i64::from(d.hour()),
            "minute" => i64::from(d.minute()),
            "second" => i64::from(d.second()),
            "microsecond" => i64::from(d.nanosecond() / 1000),
            _ => return None,
        }))
    }

    fn call_method(
        self: &Arc<Self>,
        _: &State<'_, '_>,
        name: &str,
        args: &[Value],
    ) -> Result<Value, Error> {
        let d = self.0;
        match name {
            "strftime" => {
                // A naive datetime has no zone (`%Z`, `%z` print nothing); `%s` reads it as
                // local time, as C's `mktime` does.
                let format = args.first().and_then(Value::as_str).unwrap_or_default();
                let epoch = Local
                    .from_local_datetime(&d)
                    .earliest()
                    .map_or_else(|| d.and_utc().timestamp(), |l| l.timestamp());
                let zone = Zone {
                    name: "",
                    offset: "",
                    epoch,
                };
                render(&d, format, &zone).map(Value::from)
            }
            "isoformat" => {
                let mut text = d.format("%Y-%m-%dT%H:%M:%S").to_string();
                if d.nanosecond() >= 1000 {
                    let _ = write!(text, ".{:06}", d.nanosecond() / 1000);
                }
                Ok(Value::from(text))
            }
            "timestamp" => Local.from_local_datetime(&d).earliest().map_or_else(
                || Err(invalid("timestamp: not a local time")),
                #[allow(clippy::cast_precision_loss)]
                |l| Ok(Value::from(l.timestamp_micros() as f64 / 1e6)),
            ),
            "weekday" => Ok(Value::from(d.weekday().num_days_from_monday())),
            "isoweekday" => Ok(Value::from(d.weekday().number_from_monday())),
            _ => Err(Error::from(minijinja::ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        write!(f, "{}", d.format("%Y-%m-%d %H:%M:%S"))?;
        match d.nanosecond() / 1000 {
            0 => Ok(()),
            us => write!(f, ".{us:06}"),
        }
    }
}

impl TimeDelta {
    /// Python's normalized fields: whole days (floored), seconds and microseconds of the rest.
    fn parts(self) -> (i64, i64, i64) {
        let day = 86_400_000_000;
        let days = self.0.div_euclid(day);
        let rest = self.0.rem_euclid(day);
        (days, rest / 1_000_000, rest % 1_000_000)
    }
}

impl Object for TimeDelta {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Plain
    }

    /// Timedeltas compare by length, as Python's do.
    fn custom_cmp(self: &Arc<Self>, other: &DynObject) -> Option<std::cmp::Ordering> {
        Some(self.0.cmp(&other.downcast_ref::<Self>()?.0))
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let (days, seconds, micros) = self.parts();
        match key.as_str()? {
            "days" => Some(Value::from(days)),
            "seconds" => Some(Value::from(seconds)),
            "microseconds" => Some(Value::from(micros)),
            _ => None,
        }
    }

    fn call_method(
        self: &Arc<Self>,
        _: &State<'_, '_>,
        name: &str,
        _: &[Value],
    ) -> Result<Value, Error> {
        match name {
            #[allow(clippy::cast_precision_loss)]
            "total_seconds" => Ok(Value::from(self.0 as f64 / 1e6)),
            _ => Err(Error::from(minijinja::ErrorKind::UnknownMethod)),
        }
    }

    fn render(self: &Arc<Self>, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (days, seconds, micros) = self.parts();
        if days != 0 {
            let plural = if days.abs() == 1 { "" } else { "s" };
            write!(f, "{days} day{plural}, ")?;
        }
        let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
        write!(f, "{h}:{m:02}:{s:02}")?;
        if micros != 0 {
            write!(f, ".{micros:06}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    fn render(template: &str) -> String {
        let mut env = Environment::new();
        super::register(&mut env);
        let template = super::super::datetime_sub::rewrite(template);
        env.render_str(&template, ()).expect("renders")
    }

    #[test]
    fn datetimes_print_and_subtract_as_python_does() {
        assert_eq!(
            render("{{ '2024-01-02 03:04:05' | to_datetime }}"),
            "2024-01-02 03:04:05"
        );
        assert_eq!(
            render("{{ '2024-03-05' | to_datetime('%Y-%m-%d') }}"),
            "2024-03-05 00:00:00"
        );
        assert_eq!(
            render("{{ '10:30' | to_datetime('%H:%M') }}"),
            "1900-01-01 10:30:00"
        );
        assert_eq!(
            render("{{ ('2024-03-05 01:02:03' | to_datetime - '2024-01-01 00:00:00' | to_datetime).days }}"),
            "64"
        );
        // Python: datetime(2024,1,1) - datetime(2024,3,5,1,2,3).
        let d = "('2024-01-01' | to_datetime('%Y-%m-%d') - '2024-03-05 01:02:03' | to_datetime)";
        assert_eq!(
            render(&format!("{{{{ {d} }}}}|{{{{ {d}.days }}}}|{{{{ {d}.seconds }}}}|{{{{ {d}.total_seconds() }}}}")),
            "-65 days, 22:57:57|-65|82677|-5533323.0"
        );
        assert_eq!(
            render("{{ ('2024-01-02T00:00:01Z' | to_datetime('%Y-%m-%dT%H:%M:%SZ')).year }}"),
            "2024"
        );
        assert_eq!(
            render("{% if ('2024-01-03' | to_datetime('%Y-%m-%d') - '2024-01-01' | to_datetime('%Y-%m-%d')).days > 1 %}old{% endif %}"),
            "old"
        );
    }

    #[test]
    fn formats_parse_as_strptime_does() {
        // ansible-playbook 2.x, `debug: msg="x {{ ... }}"`.
        assert_eq!(
            render("{{ '2024-01-02 03:04:05.5' | to_datetime('%Y-%m-%d %H:%M:%S.%f') }}"),
            "2024-01-02 03:04:05.500000"
        );
        assert_eq!(
            render("{{ '01/02/24 03PM' | to_datetime('%m/%d/%y %I%p') }} {{ '2024-001' | to_datetime('%Y-%j') }}"),
            "2024-01-02 15:00:00 2024-01-01 00:00:00"
        );
        assert_eq!(
            render(
                "{{ '2024-01-02 03:04:05' | to_datetime - '2024-01-01 03:04:05' | to_datetime }}"
            ),
            "1 day, 0:00:00"
        );
        assert_eq!(
            render("{{ ('2024-01-02 03:04:05' | to_datetime).isoformat() }} {{ ('2024-01-02 03:04:05' | to_datetime).weekday() }}"),
            "2024-01-02T03:04:05 1"
        );
        assert_eq!(
            render("{{ ('2024-01-02 03:04:05' | to_datetime).strftime('%d/%m/%Y %s') }}"),
            "02/01/2024 1704164645"
        );
        assert_eq!(
            render("{{ ('2024-01-02 03:04:05' | to_datetime).strftime('%z|%Z|') }}"),
            "||"
        );
    }

    #[test]
    fn datetimes_and_timedeltas_compare_by_time() {
        let a = "'2024-01-02 00:00:00' | to_datetime";
        let b = "'2023-12-31 23:00:00' | to_datetime";
        assert_eq!(
            render(&format!("{{{{ ({a}) > ({b}) }}}} {{{{ ({a}) == ({a}) }}}} {{{{ ({a} - {b}) < ({b} - {b}) }}}}")),
            "True True False"
        );
    }

    #[test]
    fn strftime_formats_epoch_seconds() {
        assert_eq!(
            render("{{ '%Y-%m-%d %H:%M:%S %j %a %b %A %B %p %y %Z %z %s' | strftime(86400 * 33 + 3661, utc=True) }}"),
            "1970-02-03 01:01:01 034 Tue Feb Tuesday February AM 70 GMT +0000 2854861"
        );
        assert_eq!(render("{{ '%Y' | strftime('0', true) }}"), "1970");
        assert_eq!(render("{{ '%Y' | strftime | length }}"), "4");
    }
}
