//! Ansible's tests on lists and values that real roles use: `subset`, `superset`, `contains`,
//! `any`, `all`, `abs` (the tests on task results, `changed` and friends, are in filters.rs).

use minijinja::value::Value;
use minijinja::Environment;

/// Registers the tests below on `env`.
pub(crate) fn register(env: &mut Environment<'static>) {
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
    fn set_tests_compare_members() {
        assert_eq!(
            render("{{ [1] is subset([1, 2]) }} {{ [1, 2] is superset([3]) }} {{ [1, 2] is contains(2) }} {{ '/x' is abs }}"),
            "True False True True"
        );
    }
}
