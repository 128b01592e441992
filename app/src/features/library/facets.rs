//! Search filters as index tokens: each image's search document carries one token per
//! combination of its orientation, category, contributor and colour family, so a
//! filtered search is one more term in the text match (the index intersects it with the
//! words) instead of a join that tests every text match against `images`.

/// Starts every facet token and separates its parts. The search index's tokenizer counts
/// it as part of a word (FTS5 `tokenchars`; PostgreSQL gets the tokens as lexemes,
/// untouched), and a searched word never contains it ([`super::search::words`] keeps
/// letters and digits only), so nothing a visitor types, prefix or word, matches a facet.
pub const MARK: char = '¤';

/// Facets of one image, as the search document records them.
pub struct ImageFacets<'a> {
    pub orientation: &'a str,
    pub category: Option<i64>,
    pub contributor: i64,
    pub color: &'a str,
}

/// Every non-empty combination of the four parts, each joined in the parts' order:
/// 15 tokens an image, so any combination of filters is exactly one of them.
fn combinations<T: AsRef<str>>(parts: &[T; 4], join: &str) -> Vec<String> {
    (1_u8..16)
        .map(|mask| {
            (0..4)
                .filter(|bit| mask & (1 << bit) != 0)
                .map(|bit| parts[bit].as_ref())
                .collect::<Vec<_>>()
                .join(join)
        })
        .collect()
}

fn part(key: char, value: &str) -> String {
    format!("{MARK}{key}{value}")
}

/// The facet tokens of one image.
pub fn document_tokens(image: &ImageFacets<'_>) -> Vec<String> {
    let category = image.category.map(|id| id.to_string()).unwrap_or_default();
    let parts = [
        part('o', image.orientation),
        part('k', &category),
        part('c', &image.contributor.to_string()),
        part('h', image.color),
    ];
    combinations(&parts, "")
}

/// The one token an image must carry to pass every filter given, or `None` without filters.
pub fn query_token(
    orientation: Option<&str>,
    category: Option<i64>,
    contributor: Option<i64>,
    color: Option<&str>,
) -> Option<String> {
    let parts: Vec<String> = [
        orientation.map(|value| part('o', value)),
        category.map(|id| part('k', &id.to_string())),
        contributor.map(|id| part('c', &id.to_string())),
        color.map(|value| part('h', value)),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.concat())
}

/// [`document_tokens`] as SQL expressions over `images i`, for indexing many images in
/// one statement; they build the same strings as the Rust side.
pub fn document_token_sql() -> Vec<String> {
    let parts = [
        format!("'{MARK}o' || i.orientation"),
        format!("'{MARK}k' || COALESCE(CAST(i.category_id AS TEXT), '')"),
        format!("'{MARK}c' || CAST(i.contributor_id AS TEXT)"),
        format!("'{MARK}h' || i.color_family"),
    ];
    combinations(&parts, " || ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> ImageFacets<'static> {
        ImageFacets {
            orientation: "portrait",
            category: Some(5),
            contributor: 3,
            color: "red",
        }
    }

    #[test]
    fn every_combination_of_filters_is_one_of_an_images_tokens() {
        let tokens = document_tokens(&image());
        assert_eq!(tokens.len(), 15);
        for orientation in [None, Some("portrait")] {
            for category in [None, Some(5)] {
                for contributor in [None, Some(3)] {
                    for color in [None, Some("red")] {
                        match query_token(orientation, category, contributor, color) {
                            Some(token) => assert!(tokens.contains(&token), "{token}"),
                            None => assert!(
                                orientation.is_none() && category.is_none() && contributor.is_none() && color.is_none()
                            ),
                        }
                    }
                }
            }
        }
        assert!(tokens.contains(&"¤oportrait¤k5¤c3¤hred".to_owned()));
    }

    #[test]
    fn other_values_make_other_tokens() {
        let tokens = document_tokens(&image());
        for token in [
            query_token(Some("landscape"), None, None, None),
            query_token(None, Some(50), None, None),
            query_token(None, None, Some(35), None),
            query_token(Some("portrait"), None, None, Some("blue")),
        ] {
            assert!(!tokens.contains(&token.unwrap()));
        }
    }

    #[test]
    fn an_image_without_a_category_matches_no_category_filter() {
        let tokens = document_tokens(&ImageFacets {
            category: None,
            ..image()
        });
        assert!(tokens.contains(&"¤oportrait".to_owned()));
        let names_a_category = |token: &String| token.split(MARK).any(|part| part.starts_with('k') && part.len() > 1);
        assert!(!tokens.iter().any(names_a_category));
    }

    #[test]
    fn the_sql_builds_the_same_combinations_in_the_same_order() {
        let sql = document_token_sql();
        assert_eq!(sql.len(), 15);
        assert_eq!(sql[0], "'¤o' || i.orientation");
        assert_eq!(
            sql[14],
            "'¤o' || i.orientation || '¤k' || COALESCE(CAST(i.category_id AS TEXT), '') || \
             '¤c' || CAST(i.contributor_id AS TEXT) || '¤h' || i.color_family"
        );
    }
}
