use super::gantt::natural_cmp;
use super::*;
use std::cmp::Ordering;

#[test]
fn format_comes_from_the_extension() {
    assert_eq!(Format::of(Path::new("a/b.PNG")).ok(), Some(Format::Png));
    assert_eq!(Format::of(Path::new("x.svg")).ok(), Some(Format::Svg));
    assert!(matches!(
        Format::of(Path::new("x.gif")),
        Err(Error::Argument(_))
    ));
    assert!(matches!(
        Format::of(Path::new("noext")),
        Err(Error::Argument(_))
    ));
}

#[test]
fn natural_order_compares_numbers_as_numbers() {
    assert_eq!(
        natural_cmp("ThreadProc(w1, 9)", "ThreadProc(w1, 10)"),
        Ordering::Less
    );
    assert_eq!(natural_cmp("w10", "w2"), Ordering::Greater);
    assert_eq!(natural_cmp("a", "a"), Ordering::Equal);
    assert_eq!(natural_cmp("a1", "a01"), Ordering::Equal);
    assert_eq!(natural_cmp("b", "a9"), Ordering::Greater);
}

#[test]
fn categories_keep_their_colours() {
    let mut others = Vec::new();
    let c = category_color("compute", &mut others);
    let x = category_color("custom", &mut others);
    let y = category_color("other", &mut others);
    assert_eq!(c, PALETTE[0]);
    assert_ne!(x, y);
    assert_eq!(category_color("custom", &mut others), x);
}

#[test]
fn bitmap_font_draws_visible_pixels() {
    let mut n = 0;
    font::draw("Hi", (0, 0), 2, |x, y| {
        assert!((0..32).contains(&x) && (0..16).contains(&y));
        n += 1;
        Ok(())
    })
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(n > 20);
}
