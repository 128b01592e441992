//! The demo library's cast: twelve fictional AI contributors, their styles and palettes,
//! the categories, and the words titles and tags are made of.

use super::art::ArtStyle;

pub struct Persona {
    pub slug: &'static str,
    pub name: &'static str,
    pub style_name: &'static str,
    pub bio: &'static str,
    pub location: Option<&'static str>,
    pub accent: &'static str,
    pub art: ArtStyle,
    pub category: &'static str,
    /// Nouns for titles, in this persona's voice.
    pub nouns: &'static [&'static str],
    pub tags: &'static [&'static str],
    /// Palettes by name; colours darkest first.
    pub palettes: &'static [(&'static str, [&'static str; 5])],
}

pub struct Category {
    pub slug: &'static str,
    pub name: &'static str,
    pub description: &'static str,
}

pub const CATEGORIES: &[Category] = &[
    Category {
        slug: "abstract",
        name: "Abstract",
        description: "Colour, motion and form for their own sake.",
    },
    Category {
        slug: "landscapes",
        name: "Landscapes",
        description: "Horizons, ridges, dunes and water at every hour.",
    },
    Category {
        slug: "geometric",
        name: "Geometric",
        description: "Circles, squares and precise compositions.",
    },
    Category {
        slug: "textures",
        name: "Textures",
        description: "Stone, maps and surfaces for backgrounds and print.",
    },
    Category {
        slug: "space",
        name: "Space",
        description: "Night skies, auroras and nebulae.",
    },
    Category {
        slug: "patterns",
        name: "Patterns",
        description: "Rhythm, repetition and optical play.",
    },
];

pub const ADJECTIVES: &[&str] = &[
    "Quiet",
    "Golden",
    "Drifting",
    "Hidden",
    "Bright",
    "Slow",
    "Electric",
    "Soft",
    "Distant",
    "Velvet",
    "Restless",
    "Luminous",
    "Faded",
    "Silent",
    "Warm",
    "Glacial",
    "Wandering",
    "Late",
    "Early",
    "Deep",
];

pub const PERSONAS: &[Persona] = &[
    Persona {
        slug: "mira-solenne", name: "Mira Solenne", style_name: "Aurora fields",
        bio: "Mira paints the northern sky as it moves: green and violet curtains over dark water, each one a single night that never happened.",
        location: Some("Tromsø, in spirit"), accent: "#0f766e", art: ArtStyle::Aurora, category: "space",
        nouns: &["Aurora", "Curtain", "Northern Light", "Polar Night", "Sky Veil"],
        tags: &["aurora", "night", "sky", "glow"],
        palettes: &[("boreal", ["#050b1a", "#0b1f3a", "#2ee6a6", "#7cf0c8", "#b48cff"]), ("violet night", ["#0a0614", "#1d1340", "#8f5cff", "#ff7ad9", "#6ee7ff"])],
    },
    Persona {
        slug: "tomas-varga", name: "Tomas Varga", style_name: "Topographic lines",
        bio: "A cartographer of places that don't exist. Tomas draws contour maps of imaginary valleys, with every tenth line a little heavier.",
        location: None, accent: "#92400e", art: ArtStyle::Contours, category: "textures",
        nouns: &["Survey", "Valley Map", "Contours", "Elevation", "Watershed"],
        tags: &["map", "contour", "topography", "lines"],
        palettes: &[("field paper", ["#3b2f2a", "#efe6d2", "#d8c9a3", "#b9a37a", "#8f7a55"]), ("glacier", ["#1e3a4a", "#e9f3f5", "#b9dbe3", "#7fb7c9", "#4a8fa8"])],
    },
    Persona {
        slug: "ines-okafor", name: "Ines Okafor", style_name: "Bauhaus geometry",
        bio: "Ines builds compositions from circles, squares and half moons on warm paper — strict shapes, loose moods.",
        location: Some("Lagos and Dessau"), accent: "#b91c1c", art: ArtStyle::Geometric, category: "geometric",
        nouns: &["Composition", "Balance", "Study", "Arrangement", "Counterpoint"],
        tags: &["bauhaus", "shapes", "minimal", "poster"],
        palettes: &[("primary", ["#1d1d1b", "#d7263d", "#f4b41a", "#1b4f9c", "#efe6d8"]), ("terracotta", ["#2b2118", "#c8553d", "#f28f3b", "#588b8b", "#f3e9dc"])],
    },
    Persona {
        slug: "kenji-arata", name: "Kenji Arata", style_name: "Mountain layers",
        bio: "Kenji stacks ridgelines into haze the way old woodblock printers did: five layers, one sun, a lot of air.",
        location: None, accent: "#1d4ed8", art: ArtStyle::Ridges, category: "landscapes",
        nouns: &["Ridgeline", "Range", "Morning Haze", "Summit", "Pass"],
        tags: &["mountains", "landscape", "layers", "haze"],
        palettes: &[("blue hour", ["#0d1b2a", "#1b263b", "#415a77", "#778da9", "#e0e1dd"]), ("dawn", ["#2d1e2f", "#5c3d5e", "#a8577e", "#f4a259", "#fbe7c6"])],
    },
    Persona {
        slug: "lucia-ferro", name: "Lucia Ferro", style_name: "Marbled stone",
        bio: "Lucia grew up among quarries. Her marble is turbulent and veined, polished only as much as it needs.",
        location: Some("Carrara"), accent: "#57534e", art: ArtStyle::Marble, category: "textures",
        nouns: &["Marble", "Vein", "Slab", "Onyx", "Quarry Light"],
        tags: &["marble", "stone", "texture", "luxury"],
        palettes: &[("carrara", ["#3d3a36", "#f4f1ec", "#e2ddd5", "#c9c1b6", "#a39a8c"]), ("verde", ["#0f1f17", "#e6efe9", "#9cc5a1", "#49a078", "#216869"])],
    },
    Persona {
        slug: "aurelio-brandt", name: "Aurelio Brandt", style_name: "Stained glass cells",
        bio: "Aurelio cuts light into cells and leads them in dark lines, as if every window were a cathedral's.",
        location: None, accent: "#7c3aed", art: ArtStyle::Cells, category: "patterns",
        nouns: &["Window", "Mosaic", "Rose Glass", "Lattice", "Chapel Light"],
        tags: &["stained glass", "mosaic", "cells", "colour"],
        palettes: &[("cathedral", ["#2a1a5e", "#c0392b", "#f1c40f", "#16a085", "#2980b9"]), ("sea glass", ["#1f4e5f", "#79a3b1", "#d0e8f2", "#a3c9a8", "#f2e3c6"])],
    },
    Persona {
        slug: "nova-reyes", name: "Nova Reyes", style_name: "Deep-space nebulae",
        bio: "Nova imagines the view from telescopes not yet built: gas clouds, young stars, and a lot of patient dark.",
        location: Some("Atacama"), accent: "#db2777", art: ArtStyle::Nebula, category: "space",
        nouns: &["Nebula", "Star Nursery", "Cloud", "Deep Field", "Cosmic Dust"],
        tags: &["space", "nebula", "stars", "cosmos"],
        palettes: &[("rose nebula", ["#04030a", "#3a0ca3", "#f72585", "#ff9e00", "#ffd6a5"]), ("cold nebula", ["#020409", "#023e8a", "#00b4d8", "#90e0ef", "#caf0f8"])],
    },
    Persona {
        slug: "sanna-lind", name: "Sanna Lind", style_name: "Interference waves",
        bio: "Sanna drops stones into still water and paints where the ripples meet. Physics, slowed down until it becomes pattern.",
        location: None, accent: "#0891b2", art: ArtStyle::Waves, category: "patterns",
        nouns: &["Interference", "Ripple", "Resonance", "Echo", "Standing Wave"],
        tags: &["waves", "ripples", "pattern", "optical"],
        palettes: &[("lagoon", ["#012a36", "#29434e", "#3ba99c", "#a9e5bb", "#fcf6b1"]), ("ink", ["#0b0c10", "#1f2833", "#45a29e", "#66fcf1", "#c5c6c7"])],
    },
    Persona {
        slug: "dario-mensah", name: "Dario Mensah", style_name: "Coastal sunsets",
        bio: "Dario only works in the last twenty minutes of daylight, when the sea borrows every colour from the sky.",
        location: Some("Cape Coast"), accent: "#ea580c", art: ArtStyle::Sunset, category: "landscapes",
        nouns: &["Sunset", "Low Tide", "Last Light", "Harbour Evening", "Golden Hour"],
        tags: &["sunset", "sea", "coast", "reflection"],
        palettes: &[("ember", ["#2b1055", "#7b2cbf", "#e85d04", "#faa307", "#ffd166"]), ("pastel dusk", ["#355070", "#6d597a", "#b56576", "#e56b6f", "#eaac8b"])],
    },
    Persona {
        slug: "yara-quell", name: "Yara Quell", style_name: "Op-art stripes",
        bio: "Yara's stripes bend when you look away. Optical art with a sense of humour and a strict palette.",
        location: None, accent: "#16a34a", art: ArtStyle::Stripes, category: "patterns",
        nouns: &["Bend", "Current", "Op Study", "Flow Lines", "Vibration"],
        tags: &["stripes", "op art", "pattern", "bold"],
        palettes: &[("riviera", ["#264653", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51"]), ("mono", ["#111111", "#f5f5f0", "#2b2b2b", "#e8e4da", "#c1121f"])],
    },
    Persona {
        slug: "eliot-marsh", name: "Eliot Marsh", style_name: "Dune horizons",
        bio: "Eliot walks imaginary deserts at noon and at dusk, and paints the dunes as soft, endless waves of sand.",
        location: None, accent: "#ca8a04", art: ArtStyle::Dunes, category: "landscapes",
        nouns: &["Dunes", "Erg", "Sand Sea", "Desert Noon", "Caravan Route"],
        tags: &["desert", "dunes", "sand", "minimal"],
        palettes: &[("sahara", ["#5a2a0c", "#a0522d", "#d4a373", "#faedcd", "#fefae0"]), ("moon desert", ["#1b1b2f", "#3a3a5a", "#6b6b9a", "#c7c7e2", "#ececf8"])],
    },
    Persona {
        slug: "pia-kestrel", name: "Pia Kestrel", style_name: "Soft gradients",
        bio: "Pia mixes colour like light through frosted glass: round, blurred shapes that make good wallpapers and better moods.",
        location: Some("Lisbon"), accent: "#c026d3", art: ArtStyle::Blobs, category: "abstract",
        nouns: &["Gradient", "Bloom", "Haze", "Glow", "Mellow"],
        tags: &["gradient", "soft", "wallpaper", "blur"],
        palettes: &[("peach", ["#ffcdb2", "#ffb4a2", "#e5989b", "#b5838d", "#6d6875"]), ("mint", ["#d8f3dc", "#b7e4c7", "#74c69d", "#40916c", "#1b4332"])],
    },
];
