//! Ansible's tests on task results (`result is changed`, `is failed`, `is succeeded`,
//! `is skipped`, with their aliases) and on values (`is abs`, `is file`-like path tests are not
//! here: they would ask the control machine about a host's files). A registered result is known
//! only after apply, so in a plan these tests meet that error first; they exist so that content
//! using them on values it builds itself (`set_fact`, `vars`) loads and evaluates as in Ansible.

use minijinja::value::Value;
use minijinja::Environment;

/// Registers the tests below on `env`.
pub(crate) fn register(env: &mut Environment<'static>) {
    env.add_test("changed", |v: Value| flag(&v, "changed"));
    env.add_test("change", |v: Value| flag(&v, "changed"));
    env.add_test("failed", |v: Value| flag(&v, "failed"));
    env.add_test("failure", |v: Value| flag(&v, "failed"));
    env.add_test("succeeded", |v: Value| !flag(&v, "failed"));
    env.add_test("success", |v: Value| !flag(&v, "failed"));
    env.add_test("successful", |v: Value| !flag(&v, "failed"));
    env.add_test("skipped", |v: Value| flag(&v, "skipped"));
    env.add_test("skip", |v: Value| flag(&v, "skipped"));
    env.add_test("finished", |v: Value| !flag(&v, "unfinished"));
    env.add_test("abs", |p: String| p.starts_with('/'));
    env.add_test("any", |v: Value| {
        v.try_iter().is_ok_and(|mut i| i.any(|x| x.is_true()))
    });
    env.add_test("all", |v: Value| {
        v.try_iter().is_ok_and(|mut i| i.all(|x| x.is_true()))
    });
    env.add_test("subset", |a: Value, b: Value| contained(&a, &b));
    env.add_test("superset", |a: Value, b: Value| contained(&b, &a));
    env.add_test("contains", |seq: Value, x: Value| {
        seq.try_iter().is_ok_and(|mut i| i.any(|y| y == x))
    });
}

/// `result.<key>` is true (a missing key, or a value that is not a mapping, is false).
fn flag(v: &Value, key: &str) -> bool {
    v.get_attr(key).is_ok_and(|x| x.is_true())
}

/// Every item of `a` is in `b`.
fn contained(a: &Value, b: &Value) -> bool {
    let Ok(items) = a.try_iter() else {
        return false;
    };
    let others: Vec<Value> = b.try_iter().map(Iterator::collect).unwrap_or_default();
    items.into_iter().all(|x| others.contains(&x))
}

#[cfg(test)]
mod tests {
    use minijinja::Environment;

    fn render(src: &str) -> String {
        let mut env = Environment::new();
        super::register(&mut env);
        env.render_str(src, ()).expect("renders")
    }

    #[test]
    fn result_tests_read_the_result_flags() {
        assert_eq!(
            render("{{ {'changed': true} is changed }} {{ {'failed': false} is succeeded }} {{ {} is skipped }} {{ {'failed': true} is failure }}"),
            "True True False True"
        );
    }

    #[test]
    fn set_tests_compare_members() {
        assert_eq!(
            render("{{ [1] is subset([1, 2]) }} {{ [1, 2] is superset([3]) }} {{ [1, 2] is contains(2) }} {{ '/x' is abs }}"),
            "True False True True"
        );
    }
}
