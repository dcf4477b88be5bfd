//! The add-in's files, compiled into the binary so `rapport serve` needs nothing on disk but
//! its certificate and token.

/// One served file.
pub struct Asset {
    pub path: &'static str,
    pub content_type: &'static str,
    pub body: &'static [u8],
    /// What is filled in when the file is served (never a secret).
    pub template: Template,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Template {
    /// Served as is.
    None,
    /// `__RAPPORT_ORIGIN__` is replaced by the bridge's origin.
    Origin,
    /// An HTML page: the origin is filled in, and it gets the pages' security policy (framed
    /// only by Outlook, never cached).
    Page,
}

pub const ORIGIN_PLACEHOLDER: &str = "__RAPPORT_ORIGIN__";

/// The manifest template (its URLs use [`super::files::TEMPLATE_ORIGIN`]).
pub const MANIFEST: &str = include_str!("../../../plugin-outlook/manifest.xml");

const HTML: &str = "text/html; charset=utf-8";
const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const PNG: &str = "image/png";

/// The event-handler script as one file: classic Outlook on Windows runs it in a JavaScript-only
/// runtime that cannot import modules, so the adapter, the bridge client and the capture logic
/// are concatenated in front of the handler.
const COMMANDS_BUNDLE: &str = concat!(
    "// Rapport: Outlook event handlers (bundled: office-adapter.js, bridge-client.js, capture.js, commands.js)\n",
    include_str!("../../../plugin-outlook/src/office-adapter.js"),
    "\n",
    include_str!("../../../plugin-outlook/src/bridge-client.js"),
    "\n",
    include_str!("../../../plugin-outlook/src/capture.js"),
    "\n",
    include_str!("../../../plugin-outlook/src/commands.js"),
);

pub static ASSETS: &[Asset] = &[
    Asset {
        path: "/taskpane.html",
        content_type: HTML,
        body: include_bytes!("../../../plugin-outlook/src/taskpane.html"),
        template: Template::Page,
    },
    Asset {
        path: "/taskpane.css",
        content_type: CSS,
        body: include_bytes!("../../../plugin-outlook/src/taskpane.css"),
        template: Template::None,
    },
    Asset {
        path: "/taskpane.js",
        content_type: JS,
        body: include_bytes!("../../../plugin-outlook/src/taskpane.js"),
        template: Template::None,
    },
    Asset {
        path: "/office-adapter.js",
        content_type: JS,
        body: include_bytes!("../../../plugin-outlook/src/office-adapter.js"),
        template: Template::None,
    },
    Asset {
        path: "/bridge-client.js",
        content_type: JS,
        body: include_bytes!("../../../plugin-outlook/src/bridge-client.js"),
        template: Template::Origin,
    },
    Asset {
        path: "/capture.js",
        content_type: JS,
        body: include_bytes!("../../../plugin-outlook/src/capture.js"),
        template: Template::None,
    },
    Asset {
        path: "/commands.html",
        content_type: HTML,
        body: include_bytes!("../../../plugin-outlook/src/commands.html"),
        template: Template::Page,
    },
    Asset {
        path: "/commands.js",
        content_type: JS,
        body: COMMANDS_BUNDLE.as_bytes(),
        template: Template::Origin,
    },
    Asset {
        path: "/assets/icon-16.png",
        content_type: PNG,
        body: include_bytes!("../../../plugin-outlook/assets/icon-16.png"),
        template: Template::None,
    },
    Asset {
        path: "/assets/icon-32.png",
        content_type: PNG,
        body: include_bytes!("../../../plugin-outlook/assets/icon-32.png"),
        template: Template::None,
    },
    Asset {
        path: "/assets/icon-64.png",
        content_type: PNG,
        body: include_bytes!("../../../plugin-outlook/assets/icon-64.png"),
        template: Template::None,
    },
    Asset {
        path: "/assets/icon-80.png",
        content_type: PNG,
        body: include_bytes!("../../../plugin-outlook/assets/icon-80.png"),
        template: Template::None,
    },
    Asset {
        path: "/assets/icon-128.png",
        content_type: PNG,
        body: include_bytes!("../../../plugin-outlook/assets/icon-128.png"),
        template: Template::None,
    },
];

pub fn find(path: &str) -> Option<&'static Asset> {
    let path = if path == "/" { "/taskpane.html" } else { path };
    ASSETS.iter().find(|a| a.path == path)
}

/// The manifest for a bridge at `origin`.
pub fn manifest_for(origin: &str) -> String {
    MANIFEST.replace(super::files::TEMPLATE_ORIGIN, origin)
}
