//! What the stylesheet promises a reader: badges they can read.

/// The declarations of the rule whose selector is exactly `selector`.
fn rule<'a>(css: &'a str, selector: &str) -> Option<&'a str> {
    css.match_indices('{').find_map(|(open, _)| {
        let before = &css[..open];
        let start = before.rfind('}').map_or(0, |close| close + 1);
        let name = before[start..]
            .lines()
            .filter(|l| !l.trim_start().starts_with("/*"));
        let name: String = name.collect::<Vec<_>>().join(" ");
        (name.trim() == selector).then(|| {
            let body = &css[open + 1..];
            &body[..body.find('}').unwrap_or(body.len())]
        })
    })
}

/// The value of `property` in `declarations`.
fn value<'a>(declarations: &'a str, property: &str) -> Option<&'a str> {
    declarations.split(';').find_map(|declaration| {
        let (name, value) = declaration.split_once(':')?;
        (name.trim() == property).then(|| value.trim())
    })
}

/// WCAG relative luminance of `#rrggbb` or `#rgb`.
fn luminance(hex: &str) -> f64 {
    let hex = hex.trim_start_matches('#');
    let full: String = if hex.len() == 3 {
        hex.chars().flat_map(|c| [c, c]).collect()
    } else {
        hex.to_owned()
    };
    let channel = |i: usize| {
        let c = f64::from(u8::from_str_radix(&full[i..i + 2], 16).expect("a hex colour")) / 255.0;
        if c <= 0.039_28 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * channel(0) + 0.7152 * channel(2) + 0.0722 * channel(4)
}

fn contrast(a: &str, b: &str) -> f64 {
    let (a, b) = (luminance(a), luminance(b));
    (a.max(b) + 0.05) / (a.min(b) + 0.05)
}

#[test]
fn every_variant_badge_is_white_on_its_colour_with_a_contrast_of_at_least_4_5_to_1() {
    let css = include_str!("../../static/style.css");
    let badge =
        rule(css, ".variant").expect("a `.variant` rule for every badge, not only the footer's");
    let text = value(badge, "color").expect("badges set their text colour");
    let root = rule(css, ":root").expect("the colour variables");
    for variant in ["naive", "optimized"] {
        let background = value(
            rule(css, &format!(".variant-{variant}")).expect("a rule per variant"),
            "background",
        )
        .expect("a background");
        let colour = background
            .strip_prefix("var(")
            .and_then(|v| v.strip_suffix(')'))
            .map_or(background, |name| {
                value(root, name).expect("the variable is defined")
            });
        let ratio = contrast(text, colour);
        assert!(
            ratio >= 4.5,
            "{variant}: {text} on {colour} is {ratio:.2}:1"
        );
    }
}

#[test]
fn the_contrast_formula_matches_known_pairs() {
    assert!((contrast("#000", "#fff") - 21.0).abs() < 0.01);
    assert!((contrast("#777777", "#fff") - 4.48).abs() < 0.01);
}
