//! A contributor's chat persona: who they are (bio, style, place), how they talk, a few of
//! their recent works as context, and the rules every persona keeps — all turned into the
//! system prompt the provider receives.

use crate::platform::db::Database;
use sqlx::Row;

/// One of the persona's works, given to the model so it can talk about real images.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Work {
    pub public_id: String,
    pub title: String,
    pub tags: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct Persona {
    pub contributor_id: i64,
    pub slug: String,
    pub name: String,
    pub bio: String,
    pub style: String,
    pub location: Option<String>,
    pub accent: String,
    pub voice: String,
    pub greeting: String,
    pub works: Vec<Work>,
}

/// Recent works given as context.
const CONTEXT_WORKS: i64 = 6;

/// The persona of the contributor `slug`, or `None` when there is no such contributor.
pub async fn by_slug(db: &Database, slug: &str) -> Result<Option<Persona>, sqlx::Error> {
    let row = sqlx::query("SELECT id FROM contributors WHERE slug = $1")
        .bind(slug)
        .fetch_optional(db.pool())
        .await?;
    match row {
        Some(row) => by_id(db, row.try_get(0)?).await,
        None => Ok(None),
    }
}

/// The persona of contributor `id`.
pub async fn by_id(db: &Database, id: i64) -> Result<Option<Persona>, sqlx::Error> {
    let Some(row) = sqlx::query(
        "SELECT c.slug, c.name, c.bio, c.style, c.location, c.accent_color, p.voice, p.greeting \
         FROM contributors c LEFT JOIN chat_personas p ON p.contributor_id = c.id WHERE c.id = $1",
    )
    .bind(id)
    .fetch_optional(db.pool())
    .await?
    else {
        return Ok(None);
    };
    let name: String = row.try_get("name")?;
    let style: String = row.try_get("style")?;
    let voice: Option<String> = row.try_get("voice")?;
    let greeting: Option<String> = row.try_get("greeting")?;
    let first_name = name.split_whitespace().next().unwrap_or(&name).to_owned();
    Ok(Some(Persona {
        contributor_id: id,
        slug: row.try_get("slug")?,
        bio: row.try_get("bio")?,
        location: row.try_get("location")?,
        accent: row.try_get("accent_color")?,
        voice: voice.unwrap_or_else(|| {
            "Warm, concrete and brief; you talk about colour, shape and light the way a working artist does.".to_owned()
        }),
        greeting: greeting.unwrap_or_else(|| {
            format!(
                "Hello, I'm {first_name}. I make {} — ask me about my work, or bring me an idea for an image.",
                style.to_lowercase()
            )
        }),
        works: recent_works(db, id).await?,
        name,
        style,
    }))
}

/// The contributor's newest public works with up to five tags each, in two queries.
async fn recent_works(db: &Database, contributor_id: i64) -> Result<Vec<Work>, sqlx::Error> {
    let newest = "SELECT i.id FROM images i WHERE i.contributor_id = $1 AND i.visibility = 'public' \
                  ORDER BY i.created_at DESC, i.id DESC LIMIT $2";
    let rows: Vec<(i64, String, String)> = sqlx::query_as(&format!(
        "SELECT id, public_id, title FROM images WHERE id IN ({newest}) ORDER BY created_at DESC, id DESC"
    ))
    .bind(contributor_id)
    .bind(CONTEXT_WORKS)
    .fetch_all(db.pool())
    .await?;
    let tags: Vec<(i64, String)> = sqlx::query_as(&format!(
        "SELECT image_id, tag FROM image_tags WHERE image_id IN ({newest}) ORDER BY image_id, tag"
    ))
    .bind(contributor_id)
    .bind(CONTEXT_WORKS)
    .fetch_all(db.pool())
    .await?;
    Ok(rows
        .into_iter()
        .map(|(id, public_id, title)| Work {
            public_id,
            title,
            tags: tags
                .iter()
                .filter(|(image_id, _)| *image_id == id)
                .map(|(_, tag)| tag.clone())
                .take(5)
                .collect(),
        })
        .collect())
}

impl Persona {
    /// The system prompt: identity, voice, works, and the acceptable-use rules.
    pub fn system_prompt(&self, site_name: &str) -> String {
        let mut prompt = format!(
            "You are {name}, an AI contributor to {site_name}, a library of free AI-made images. \
             You are a fictional persona, not a real person; say so plainly if anyone asks.\n\n\
             About you: {bio}\nYour style: {style}.\n",
            name = self.name,
            bio = self.bio,
            style = self.style,
        );
        if let Some(location) = &self.location {
            prompt.push_str(&format!("You are based in {location}.\n"));
        }
        prompt.push_str(&format!("How you talk: {}\n", self.voice));
        if !self.works.is_empty() {
            prompt.push_str(
                "\nYour recent works in the library. When you mention one, link it exactly as written here:\n",
            );
            for work in &self.works {
                prompt.push_str(&format!("- [{}](/photos/{})", work.title, work.public_id));
                if !work.tags.is_empty() {
                    prompt.push_str(&format!(" — {}", work.tags.join(", ")));
                }
                prompt.push('\n');
            }
        }
        prompt.push_str(
            "\nTalk in character, in the first person, about your style, your work and ideas for images. \
             Keep replies short unless asked for more; use Markdown sparingly. Never invent links to other \
             images. Refuse, briefly and in character, anything that depicts real people, impersonates \
             someone, sexualises minors, or shows anyone in intimate or humiliating situations without \
             their consent.",
        );
        prompt
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_prompt_carries_identity_voice_works_and_rules() {
        let persona = Persona {
            contributor_id: 1,
            slug: "mira-solenne".into(),
            name: "Mira Solenne".into(),
            bio: "Mira paints the northern sky.".into(),
            style: "Aurora fields".into(),
            location: Some("Tromsø".into()),
            accent: "#0f766e".into(),
            voice: "Quiet and precise.".into(),
            greeting: "Hello.".into(),
            works: vec![Work {
                public_id: "abc123".into(),
                title: "Polar Night".into(),
                tags: vec!["aurora".into(), "night".into()],
            }],
        };
        let prompt = persona.system_prompt("Atelier");
        for expected in [
            "You are Mira Solenne, an AI contributor to Atelier",
            "fictional persona",
            "Mira paints the northern sky.",
            "Aurora fields",
            "Tromsø",
            "Quiet and precise.",
            "- [Polar Night](/photos/abc123) — aurora, night",
            "real people",
        ] {
            assert!(prompt.contains(expected), "missing {expected:?} in {prompt}");
        }
    }
}
