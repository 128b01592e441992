//! Collections over HTTP: only owners change them, private ones are not found by anyone
//! else, saving twice at once leaves one entry, orders persist, deletion can be undone and
//! then cascades, limits hold, and saving works as a plain form post.

use crate::support::{
    count_rows,
    library::{add_category, add_contributor, add_picture, Picture},
    members::{create_member, error_of, location, post_form, signed_in, BROWSER_ACCEPT},
    spawn_app, spawn_app_with, TestApp,
};
use app::{
    error::AppError,
    features::collections::{
        api::{
            AddToCollection, BulkCollectionItems, CollectionPage, CreateCollection, DeleteCollection,
            MoveCollectionItem, MyCollections, RemoveFromCollection, RestoreCollection, SaveTargets,
            SaveToNewCollection, SetCollectionCover, UpdateCollection,
        },
        service::purge_deleted,
        BulkOutcome, CollectionSummary, CollectionView, SaveTarget, UNDO_SECONDS,
    },
};
use leptos::server_fn::ServerFn;

const IMAGES: [&str; 4] = ["first", "second", "third", "fourth"];

/// A library of four small images: `first` … `fourth`.
pub(crate) async fn library(app: &TestApp) {
    add_contributor(app, "ada", "Ada Quill").await;
    add_category(app, "sky", "Sky").await;
    for (n, id) in IMAGES.iter().enumerate() {
        add_picture(
            app,
            Picture {
                id,
                title: &format!("Picture {id}"),
                tags: &["test"],
                description: "",
                contributor: "ada",
                category: "sky",
                size: if n % 2 == 0 { (60, 40) } else { (40, 60) },
                rgb: [40 * n as u8, 90, 120],
                age: 100 - n as i64,
            },
        )
        .await;
    }
}

pub(crate) async fn member(app: &TestApp, email: &str) -> String {
    create_member(app, email, email.split('@').next().unwrap(), true).await;
    signed_in(app, email).await
}

pub(crate) async fn create(app: &TestApp, cookie: &str, name: &str, visibility: &str) -> String {
    let response = post_form(
        app,
        CreateCollection::PATH,
        Some(cookie),
        &[("name", name), ("visibility", visibility)],
    )
    .await;
    assert_eq!(response.status(), 200, "{:?}", response.text().await);
    response.json().await.unwrap()
}

pub(crate) async fn add(app: &TestApp, cookie: &str, slug: &str, image: &str) -> reqwest::Response {
    post_form(
        app,
        AddToCollection::PATH,
        Some(cookie),
        &[("slug", slug), ("public_id", image)],
    )
    .await
}

/// The collection as `cookie`'s bearer (or nobody) sees it, in its own order.
async fn view(app: &TestApp, cookie: Option<&str>, slug: &str) -> Option<CollectionView> {
    let response = post_form(
        app,
        CollectionPage::PATH,
        cookie,
        &[("request[slug]", slug), ("request[page]", "1")],
    )
    .await;
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

fn ids(view: &CollectionView) -> Vec<&str> {
    view.items.iter().map(|image| image.public_id.as_str()).collect()
}

async fn page_status(app: &TestApp, path: &str, cookie: Option<&str>) -> (u16, String) {
    let mut request = app.client.get(app.url(path));
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

#[tokio::test]
async fn only_the_owner_changes_a_collection() {
    let app = spawn_app().await;
    library(&app).await;
    let owner = member(&app, "owner@example.com").await;
    let other = member(&app, "other@example.com").await;
    let public = create(&app, &owner, "Shared skies", "public").await;
    let private = create(&app, &owner, "Secret skies", "private").await;
    assert_eq!(add(&app, &owner, &public, "first").await.status(), 200);
    assert_eq!(add(&app, &owner, &private, "first").await.status(), 200);

    for (slug, refusal) in [(&public, AppError::Forbidden), (&private, AppError::NotFound)] {
        let slug = slug.as_str();
        let attempts: Vec<(&str, Vec<(&str, &str)>)> = vec![
            (
                UpdateCollection::PATH,
                vec![("slug", slug), ("name", "Mine now"), ("visibility", "public")],
            ),
            (DeleteCollection::PATH, vec![("slug", slug)]),
            (AddToCollection::PATH, vec![("slug", slug), ("public_id", "second")]),
            (RemoveFromCollection::PATH, vec![("slug", slug), ("public_id", "first")]),
            (
                MoveCollectionItem::PATH,
                vec![("slug", slug), ("public_id", "first"), ("to_index", "0")],
            ),
            (
                BulkCollectionItems::PATH,
                vec![("slug", slug), ("action", "remove"), ("images[0]", "first")],
            ),
            (SetCollectionCover::PATH, vec![("slug", slug), ("public_id", "first")]),
        ];
        for (path, form) in &attempts {
            let response = post_form(&app, path, Some(&other), form).await;
            assert_eq!(error_of(response).await, refusal, "{path} on {slug}");
            let response = post_form(&app, path, None, form).await;
            assert_eq!(error_of(response).await, AppError::Unauthorized, "{path} signed out");
        }
        let seen = view(&app, Some(&owner), slug).await.unwrap();
        assert_eq!(ids(&seen), ["first"], "nothing changed in {slug}");
        assert_ne!(seen.collection.name, "Mine now");
    }
    app.stop().await;
}

#[tokio::test]
async fn private_collections_are_not_found_for_anyone_else() {
    let app = spawn_app().await;
    library(&app).await;
    let owner = member(&app, "owner@example.com").await;
    let other = member(&app, "other@example.com").await;
    let private = create(&app, &owner, "Quiet corner", "private").await;
    add(&app, &owner, &private, "second").await;
    let path = format!("/collections/{private}");

    let (status, body) = page_status(&app, &path, Some(&owner)).await;
    assert_eq!(status, 200);
    assert!(body.contains("Quiet corner") && body.contains("data-image-id=\"second\""));
    for cookie in [None, Some(other.as_str())] {
        let (status, body) = page_status(&app, &path, cookie).await;
        assert_eq!(status, 404, "{cookie:?}");
        assert!(!body.contains("Quiet corner"));
        assert!(view(&app, cookie, &private).await.is_none());
    }
    // The picker of someone else never lists it.
    let response = post_form(&app, SaveTargets::PATH, Some(&other), &[("public_id", "second")]).await;
    let targets: Option<Vec<SaveTarget>> = response.json().await.unwrap();
    assert_eq!(targets, Some(vec![]));

    // Made public, anyone may look, signed out included.
    let response = post_form(
        &app,
        UpdateCollection::PATH,
        Some(&owner),
        &[("slug", &private), ("name", "Quiet corner"), ("visibility", "public")],
    )
    .await;
    assert_eq!(response.status(), 200);
    let (status, body) = page_status(&app, &path, None).await;
    assert_eq!(status, 200);
    assert!(body.contains("data-image-id=\"second\""));
    let seen = view(&app, None, &private).await.unwrap();
    assert!(!seen.is_owner && seen.collection.is_public);
    assert_eq!(seen.owner_name, "owner");

    // An unknown address is the same 404.
    assert_eq!(page_status(&app, "/collections/no-such-thing", None).await.0, 404);
    app.stop().await;
}

#[tokio::test]
async fn saving_the_same_image_twice_at_once_leaves_one_row() {
    let app = spawn_app().await;
    library(&app).await;
    let owner = member(&app, "owner@example.com").await;
    let slug = create(&app, &owner, "Twice", "private").await;
    let attempts = (0..8).map(|_| {
        let form = fields(&[("slug", &slug), ("public_id", "third")]);
        owned_post(&app, AddToCollection::PATH, &owner, None, form)
    });
    let responses = futures_join_all(attempts).await;
    let mut newly_added = 0;
    for response in responses {
        assert_eq!(response.status(), 200);
        if response.json::<bool>().await.unwrap() {
            newly_added += 1;
        }
    }
    assert_eq!(newly_added, 1, "exactly one save was new");
    assert_eq!(count_rows(&app, "collection_items").await, 1);
    app.stop().await;
}

/// A server-function call as the bearer of `cookie` that owns all it needs, so it can be
/// spawned (the races) and sent a form built at run time; `accept` makes it a browser's
/// plain form post.
pub(crate) fn owned_post(
    app: &TestApp,
    path: &str,
    cookie: &str,
    accept: Option<&'static str>,
    form: Vec<(String, String)>,
) -> impl std::future::Future<Output = reqwest::Response> + Send + 'static {
    let mut request = app.client.post(app.url(path)).header("cookie", cookie).form(&form);
    if let Some(accept) = accept {
        request = request.header("accept", accept);
    }
    async move { request.send().await.unwrap() }
}

/// A form's fields as owned pairs.
pub(crate) fn fields(form: &[(&str, &str)]) -> Vec<(String, String)> {
    form.iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

/// Awaits every future, concurrently, in order (the suite does not depend on `futures`).
pub(crate) async fn futures_join_all<F>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut outputs = Vec::new();
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

#[tokio::test]
async fn a_new_order_persists_and_the_cover_follows_it() {
    let app = spawn_app().await;
    library(&app).await;
    let owner = member(&app, "owner@example.com").await;
    let slug = create(&app, &owner, "Ordered", "private").await;
    for image in IMAGES {
        add(&app, &owner, &slug, image).await;
    }
    // Newly saved images go first.
    let seen = view(&app, Some(&owner), &slug).await.unwrap();
    assert_eq!(ids(&seen), ["fourth", "third", "second", "first"]);
    assert_eq!(seen.collection.cover.unwrap().public_id, "fourth");

    let moved = post_form(
        &app,
        MoveCollectionItem::PATH,
        Some(&owner),
        &[("slug", &slug), ("public_id", "first"), ("to_index", "0")],
    )
    .await;
    assert_eq!(moved.status(), 200);
    post_form(
        &app,
        MoveCollectionItem::PATH,
        Some(&owner),
        &[("slug", &slug), ("public_id", "fourth"), ("to_index", "99")],
    )
    .await;
    let seen = view(&app, Some(&owner), &slug).await.unwrap();
    assert_eq!(ids(&seen), ["first", "third", "second", "fourth"]);
    assert_eq!(seen.collection.cover.unwrap().public_id, "first");

    // A chosen cover stays whatever the order.
    post_form(
        &app,
        SetCollectionCover::PATH,
        Some(&owner),
        &[("slug", &slug), ("public_id", "second")],
    )
    .await;
    let seen = view(&app, Some(&owner), &slug).await.unwrap();
    assert_eq!(seen.collection.cover.unwrap().public_id, "second");

    // Sorting and filtering inside the collection.
    let filtered = |form: Vec<(&'static str, &'static str)>| {
        let mut form = fields(&form);
        form.push(("request[slug]".into(), slug.clone()));
        let call = owned_post(&app, CollectionPage::PATH, &owner, None, form);
        async move { call.await.json::<Option<CollectionView>>().await.unwrap().unwrap() }
    };
    let portrait = filtered(vec![("request[orientation]", "portrait")]).await;
    assert_eq!(ids(&portrait), ["second", "fourth"]);
    assert_eq!((portrait.matching, portrait.collection.item_count), (2, 4));
    let by_title = filtered(vec![("request[sort]", "title")]).await;
    assert_eq!(ids(&by_title), ["first", "fourth", "second", "third"]);
    let by_words = filtered(vec![("request[q]", "picture THI")]).await;
    assert_eq!(ids(&by_words), ["third"]);
    let literal = filtered(vec![("request[q]", "%")]).await;
    assert!(literal.items.is_empty(), "wildcards are taken literally");

    // An image that is not in the collection cannot be moved.
    let response = post_form(
        &app,
        MoveCollectionItem::PATH,
        Some(&owner),
        &[("slug", &slug), ("public_id", "nope"), ("to_index", "0")],
    )
    .await;
    assert!(matches!(error_of(response).await, AppError::Field { .. }));
    app.stop().await;
}

#[tokio::test]
async fn deleting_a_collection_can_be_undone_then_cascades() {
    let app = spawn_app().await;
    library(&app).await;
    let owner = member(&app, "owner@example.com").await;
    let slug = create(&app, &owner, "Short lived", "public").await;
    let keep = create(&app, &owner, "Keeper", "private").await;
    for image in IMAGES {
        add(&app, &owner, &slug, image).await;
    }
    add(&app, &owner, &keep, "first").await;

    let deleted = post_form(&app, DeleteCollection::PATH, Some(&owner), &[("slug", &slug)]).await;
    assert_eq!(deleted.status(), 200);
    assert_eq!(page_status(&app, &format!("/collections/{slug}"), None).await.0, 404);
    let mine: Vec<CollectionSummary> = post_form(&app, MyCollections::PATH, Some(&owner), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);

    let restored = post_form(&app, RestoreCollection::PATH, Some(&owner), &[("slug", &slug)]).await;
    assert_eq!(restored.status(), 200);
    assert_eq!(ids(&view(&app, Some(&owner), &slug).await.unwrap()).len(), 4);

    post_form(&app, DeleteCollection::PATH, Some(&owner), &[("slug", &slug)]).await;
    let now = app::platform::clock::now_unix();
    assert_eq!(
        purge_deleted(&app.state.db, now).await.unwrap(),
        0,
        "still inside the undo window"
    );
    assert_eq!(count_rows(&app, "collection_items").await, 5);
    assert_eq!(purge_deleted(&app.state.db, now + UNDO_SECONDS + 1).await.unwrap(), 1);
    assert_eq!(count_rows(&app, "collections").await, 1);
    assert_eq!(
        count_rows(&app, "collection_items").await,
        1,
        "the entries went with it"
    );
    assert_eq!(count_rows(&app, "images").await, 4, "the images stay in the library");
    let late = post_form(&app, RestoreCollection::PATH, Some(&owner), &[("slug", &slug)]).await;
    assert_eq!(error_of(late).await, AppError::NotFound);
    app.stop().await;
}

#[tokio::test]
async fn limits_hold_even_when_requests_race() {
    let app = spawn_app_with(
        |values| {
            values.insert("ATELIER_COLLECTIONS_PER_MEMBER".into(), "2".into());
            values.insert("ATELIER_ITEMS_PER_COLLECTION".into(), "3".into());
        },
        server::jobs::registry(),
    )
    .await;
    library(&app).await;
    let owner = member(&app, "owner@example.com").await;

    let creations = (0..6).map(|n| {
        let form = vec![("name".to_owned(), format!("Race {n}"))];
        owned_post(&app, CreateCollection::PATH, &owner, None, form)
    });
    let statuses: Vec<u16> = futures_join_all(creations)
        .await
        .iter()
        .map(|response| response.status().as_u16())
        .collect();
    assert_eq!(
        statuses.iter().filter(|status| **status == 200).count(),
        2,
        "{statuses:?}"
    );
    assert_eq!(count_rows(&app, "collections").await, 2);
    let refused = post_form(&app, CreateCollection::PATH, Some(&owner), &[("name", "Third")]).await;
    match error_of(refused).await {
        AppError::Invalid(message) => assert!(message.contains("2 collections"), "{message}"),
        other => panic!("unexpected {other:?}"),
    }
    let refused = post_form(
        &app,
        SaveToNewCollection::PATH,
        Some(&owner),
        &[("name", "Third"), ("public_id", "first")],
    )
    .await;
    assert!(matches!(error_of(refused).await, AppError::Invalid(_)));

    let mine: Vec<CollectionSummary> = post_form(&app, MyCollections::PATH, Some(&owner), &[])
        .await
        .json()
        .await
        .unwrap();
    let (a, b) = (&mine[0].slug, &mine[1].slug);
    for image in ["first", "second", "third"] {
        assert_eq!(add(&app, &owner, a, image).await.status(), 200);
    }
    let refused = add(&app, &owner, a, "fourth").await;
    match error_of(refused).await {
        AppError::Invalid(message) => assert!(message.contains("at most 3 images"), "{message}"),
        other => panic!("unexpected {other:?}"),
    }
    // Saving what is already there is not refused: nothing new is added.
    assert_eq!(add(&app, &owner, a, "first").await.status(), 200);

    // A bulk copy that would overfill the target changes nothing at all.
    add(&app, &owner, b, "fourth").await;
    let refused = post_form(
        &app,
        BulkCollectionItems::PATH,
        Some(&owner),
        &[
            ("slug", a.as_str()),
            ("action", "move"),
            ("images[0]", "first"),
            ("images[1]", "second"),
            ("images[2]", "third"),
            ("target", b.as_str()),
        ],
    )
    .await;
    assert!(matches!(error_of(refused).await, AppError::Invalid(_)));
    assert_eq!(ids(&view(&app, Some(&owner), a).await.unwrap()).len(), 3);
    assert_eq!(ids(&view(&app, Some(&owner), b).await.unwrap()), ["fourth"]);
    app.stop().await;
}

#[tokio::test]
async fn bulk_move_copy_and_remove() {
    let app = spawn_app().await;
    library(&app).await;
    let owner = member(&app, "owner@example.com").await;
    let from = create(&app, &owner, "From", "private").await;
    let to = create(&app, &owner, "To", "private").await;
    for image in IMAGES {
        add(&app, &owner, &from, image).await;
    }
    add(&app, &owner, &to, "second").await;
    let bulk = |action: &'static str, images: Vec<&'static str>| {
        let mut form: Vec<(String, String)> = vec![
            ("slug".into(), from.clone()),
            ("action".into(), action.into()),
            ("target".into(), to.clone()),
        ];
        for (n, image) in images.into_iter().enumerate() {
            form.push((format!("images[{n}]"), image.into()));
        }
        owned_post(&app, BulkCollectionItems::PATH, &owner, None, form)
    };
    let outcome: BulkOutcome = bulk("copy", vec!["first", "second"]).await.json().await.unwrap();
    assert_eq!(
        outcome,
        BulkOutcome {
            added: 1,
            already_there: 1,
            removed: 0
        }
    );
    assert_eq!(ids(&view(&app, Some(&owner), &from).await.unwrap()).len(), 4);
    let outcome: BulkOutcome = bulk("move", vec!["third", "fourth"]).await.json().await.unwrap();
    assert_eq!(outcome.added, 2);
    assert_eq!(outcome.removed, 2);
    assert_eq!(
        ids(&view(&app, Some(&owner), &from).await.unwrap()),
        ["second", "first"]
    );
    let mut target = ids(&view(&app, Some(&owner), &to).await.unwrap())
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    target.sort();
    assert_eq!(target, ["first", "fourth", "second", "third"]);
    let outcome: BulkOutcome = bulk("remove", vec!["first"]).await.json().await.unwrap();
    assert_eq!(outcome.removed, 1);
    assert_eq!(ids(&view(&app, Some(&owner), &from).await.unwrap()), ["second"]);
    assert_eq!(ids(&view(&app, Some(&owner), &to).await.unwrap()).len(), 4);
    app.stop().await;
}

#[tokio::test]
async fn saving_and_removing_work_as_plain_form_posts() {
    let app = spawn_app().await;
    library(&app).await;
    let owner = member(&app, "owner@example.com").await;
    let form_post = |path: &'static str, form: Vec<(&'static str, String)>| {
        let form = form.into_iter().map(|(name, value)| (name.to_owned(), value)).collect();
        owned_post(&app, path, &owner, Some(BROWSER_ACCEPT), form)
    };
    let made = form_post(
        SaveToNewCollection::PATH,
        vec![
            ("name", "Made without script".into()),
            ("public_id", "second".into()),
            ("next", "/photos/second".into()),
        ],
    )
    .await;
    assert!(made.status().is_redirection(), "{}", made.status());
    assert_eq!(location(&made), "/photos/second");
    let mine: Vec<CollectionSummary> = post_form(&app, MyCollections::PATH, Some(&owner), &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].item_count, 1);
    let slug = mine[0].slug.clone();
    assert!(slug.starts_with("made-without-script-"), "{slug}");

    // The image page lists it as saved, rendered on the server.
    let (_, page) = page_status(&app, "/photos/second", Some(&owner)).await;
    assert!(
        page.contains(&format!("data-collection=\"{slug}\"")),
        "the picker lists it"
    );
    assert!(page.contains("aria-pressed=\"true\""), "and shows the image saved");

    let added = form_post(
        AddToCollection::PATH,
        vec![
            ("slug", slug.clone()),
            ("public_id", "third".into()),
            ("next", "/photos/third".into()),
        ],
    )
    .await;
    assert_eq!(location(&added), "/photos/third");
    let removed = form_post(
        RemoveFromCollection::PATH,
        vec![
            ("slug", slug.clone()),
            ("public_id", "second".into()),
            ("next", "//evil.example".into()),
        ],
    )
    .await;
    assert_eq!(location(&removed), "/", "only paths on this site are followed");
    for hostile in crate::support::members::HOSTILE_NEXT {
        let added = form_post(
            AddToCollection::PATH,
            vec![
                ("slug", slug.clone()),
                ("public_id", "third".into()),
                ("next", (*hostile).to_owned()),
            ],
        )
        .await;
        assert_eq!(location(&added), "/", "{hostile:?}");
    }
    let seen = view(&app, Some(&owner), &slug).await.unwrap();
    assert_eq!(ids(&seen), ["third"]);

    // A new collection from the collections page lands on it.
    let made = form_post(CreateCollection::PATH, vec![("name", "  Spaced   out ".into())]).await;
    let landed = location(&made);
    assert!(landed.starts_with("/collections/spaced-out-"), "{landed}");
    app.stop().await;
}

#[tokio::test]
async fn bad_input_gets_a_clear_error() {
    let app = spawn_app().await;
    library(&app).await;
    let owner = member(&app, "owner@example.com").await;
    let blank = post_form(&app, CreateCollection::PATH, Some(&owner), &[("name", "   ")]).await;
    assert_eq!(
        error_of(blank).await.for_field("name").unwrap(),
        "Give the collection a name."
    );
    let long = "x".repeat(81);
    let too_long = post_form(&app, CreateCollection::PATH, Some(&owner), &[("name", &long)]).await;
    assert!(error_of(too_long).await.for_field("name").is_some());
    let slug = create(&app, &owner, "Fine", "private").await;
    let missing = add(&app, &owner, &slug, "not-an-image").await;
    assert!(error_of(missing).await.for_field("image").is_some());
    let bad_sort = post_form(
        &app,
        CollectionPage::PATH,
        Some(&owner),
        &[("request[slug]", &slug), ("request[sort]", "sideways")],
    )
    .await;
    assert!(error_of(bad_sort).await.for_field("sort").is_some());
    let bad_action = post_form(
        &app,
        BulkCollectionItems::PATH,
        Some(&owner),
        &[("slug", &slug), ("action", "shred"), ("images[0]", "first")],
    )
    .await;
    assert!(error_of(bad_action).await.for_field("action").is_some());
    app.stop().await;
}
