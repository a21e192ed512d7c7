//! `reportctl catalog ls|mkdir|upload|rm`: content from the command line, as rs.exe
//! scripts do it.

use std::path::PathBuf;

use anyhow::{Context, bail};
use catalog::{CatalogItem, ItemPath, ItemType, NewItem};
use clap::Subcommand;
use serde::Serialize;

use super::user::open_configured;
use super::{Ctx, block_on, os_user, print_json};

#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// List the children of a folder (default /).
    Ls { path: Option<String> },
    /// Create a folder (its parent must exist).
    Mkdir { path: String },
    /// Upload a file: .rdl → Report, .rds → DataSource, anything else → Resource.
    /// PATH is the new item's path, or an existing folder to upload into.
    Upload {
        file: PathBuf,
        path: String,
        /// Replace an existing item of the same type.
        #[arg(long)]
        overwrite: bool,
    },
    /// Delete an item (a folder with everything in it).
    Rm { path: String },
}

#[derive(Serialize)]
struct Row<'a> {
    #[serde(rename = "Type")]
    item_type: &'a str,
    #[serde(rename = "Path")]
    path: &'a str,
    #[serde(rename = "Size")]
    size: i64,
    #[serde(rename = "ModifiedDate")]
    modified: String,
    #[serde(rename = "ModifiedBy")]
    modified_by: &'a str,
    #[serde(rename = "Id")]
    id: String,
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

pub fn run(ctx: &Ctx, cmd: CatalogCommand) -> anyhow::Result<i32> {
    let by = os_user();
    let code = block_on(async {
        let cat = open_configured(&ctx.dd).await?;
        match cmd {
            CatalogCommand::Ls { path } => {
                let path = ItemPath::parse(path.as_deref().unwrap_or("/"))?;
                match cat.get_item(&path).await? {
                    None => return Err(catalog::Error::NotFound(path).into()),
                    Some(i) if i.item_type != ItemType::Folder => {
                        print_items(ctx, &[i])?;
                        return Ok(0);
                    }
                    Some(_) => {}
                }
                let items = cat.list_children(&path).await?;
                print_items(ctx, &items)?;
            }
            CatalogCommand::Mkdir { path } => {
                let path = ItemPath::parse(&path)?;
                let item = cat.create_folder(&path, &by).await?;
                println!("Created folder {}", item.path);
            }
            CatalogCommand::Upload {
                file,
                path,
                overwrite,
            } => {
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let meta =
                    std::fs::metadata(&file).with_context(|| format!("{}", file.display()))?;
                let limit =
                    u64::from(ctx.dd.load_config()?.settings.max_upload_size_mb) * 1024 * 1024;
                if meta.len() > limit {
                    bail!(
                        "{} is {} bytes, over the upload limit of {} MiB; raise it with `reportctl config set MaxUploadSizeMB N`",
                        file.display(),
                        meta.len(),
                        limit / 1024 / 1024
                    );
                }
                let content =
                    std::fs::read(&file).with_context(|| format!("{}", file.display()))?;
                let item_type = ItemType::for_upload(&name);
                // A data source's secrets are sealed with the encryption key (a cluster's
                // key, else the instance key) before they are stored, as the portal's and
                // the REST API's uploads do.
                let content = if item_type == ItemType::DataSource {
                    let key = mgmt::keys::cluster_key_async(&ctx.dd).await?;
                    dataprov::rds::seal_for_storage(&content, &key.bytes()[..]).map_err(|e| {
                        anyhow::anyhow!(
                            "{} is not a valid shared data source (.rds): {e}",
                            file.display()
                        )
                    })?
                } else {
                    content
                };
                if item_type == ItemType::Report {
                    // The same linear, bounded check as the portal's, without the web stack.
                    rdl::check_upload(&content).map_err(|e| {
                        anyhow::anyhow!(
                            "{} is not a valid report definition (RDL): {e}",
                            file.display()
                        )
                    })?;
                }
                let target = ItemPath::parse(&path)?;
                let target = match cat.get_item(&target).await? {
                    Some(i) if i.item_type == ItemType::Folder => {
                        target.join(&item_name(&name, item_type))?
                    }
                    _ => target,
                };
                let mime = webapp::guess_mime(&name);
                let item = cat
                    .put_item(NewItem {
                        path: &target,
                        item_type,
                        content: &content,
                        mime_type: (item_type == ItemType::Resource).then_some(mime),
                        description: "",
                        by: &by,
                        overwrite,
                    })
                    .await
                    .map_err(|e| match e {
                        catalog::Error::AlreadyExists(p) => anyhow::anyhow!(
                            "an item named '{p}' already exists; pass --overwrite to replace it, or upload under another name"
                        ),
                        e => e.into(),
                    })?;
                println!(
                    "Uploaded {} as {} {} ({} bytes)",
                    file.display(),
                    item.item_type,
                    item.path,
                    item.size
                );
            }
            CatalogCommand::Rm { path } => {
                let path = ItemPath::parse(&path)?;
                cat.delete_item(&path).await?;
                println!("Deleted {path}");
            }
        }
        anyhow::Ok(0)
    })??;
    mgmt::ops::catalog_changed(&ctx.dd);
    Ok(code)
}

/// The item name a file gets: reports and data sources lose their extension, as in SSRS.
fn item_name(file_name: &str, t: ItemType) -> String {
    match t {
        ItemType::Report | ItemType::DataSource => file_name
            .rsplit_once('.')
            .map(|(stem, _)| stem.to_owned())
            .unwrap_or_else(|| file_name.to_owned()),
        _ => file_name.to_owned(),
    }
}

fn print_items(ctx: &Ctx, items: &[CatalogItem]) -> anyhow::Result<()> {
    let rows: Vec<Row> = items
        .iter()
        .map(|i| Row {
            item_type: i.item_type.as_str(),
            path: i.path.as_str(),
            size: i.size,
            modified: rfc3339(i.modified_at),
            modified_by: &i.modified_by,
            id: i.id.to_string(),
        })
        .collect();
    if ctx.json {
        return print_json(&rows);
    }
    println!("{:<11} {:>10}  {:<25} PATH", "TYPE", "SIZE", "MODIFIED");
    for r in rows {
        println!(
            "{:<11} {:>10}  {:<25} {}",
            r.item_type, r.size, r.modified, r.path
        );
    }
    Ok(())
}
