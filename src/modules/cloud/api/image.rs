//! Glance: images uploaded from a local file, compared by sha512, given to their project.

use super::spec::ImageSpec;
use super::{q, sid, Api, Collection};
use crate::error::Error;
use crate::modules::cloud::client::Body;
use serde_json::{json, Value};
use ureq::http::Method;

const IMAGES: Collection = Collection::new("image", "image", "/images", "images", "");

impl<'a> Api<'a> {
    pub fn images(&self, name: Option<&str>) -> Result<Vec<Value>, Error> {
        let path = match name {
            Some(n) => format!("/images?name={}", q(n)),
            // Glance's own page size; `next` links are followed.
            None => "/images".into(),
        };
        self.list("image", &path, "images")
    }

    pub fn image_ensure(&self, s: ImageSpec) -> Result<Value, Error> {
        let ImageSpec {
            name,
            file,
            disk_format,
            container_format,
            visibility,
            tags,
            project,
        } = s;
        let disk_format = disk_format.unwrap_or_else(|| "qcow2".into());
        let container_format = container_format.unwrap_or_else(|| "bare".into());
        // The project that owns it (by name or id): the one whose users see a private or shared
        // image, as when the tenant's own user uploads it.
        let owner = match &project {
            Some(p) => Some(self.project_id(p)?),
            None => None,
        };
        let meta = std::fs::metadata(&file);
        let (len, hash) = match meta {
            Ok(m) if m.is_file() => (m.len(), Some(crate::util::digest::sha512_file(&file)?)),
            _ if self.fx.is_plan() => (0, None),
            _ => {
                return Err(Error::not_found(format!(
                    "image '{name}': file {file} does not exist"
                )))
            }
        };
        let existing = self.images(Some(&name))?;
        if existing.len() > 1 {
            return Err(Error::refused(format!(
                "{} images are named '{name}'; delete the extra ones so the name is unique",
                existing.len()
            )));
        }
        let img = match existing.into_iter().next() {
            Some(i) if i["status"] == "active" => {
                return self.image_uploaded(i, &name, hash.as_deref(), owner);
            }
            Some(i) => i,
            None => {
                let mut body = json!({"name": name, "disk_format": disk_format, "container_format": container_format});
                if let Some(v) = &visibility {
                    body["visibility"] = json!(v);
                }
                if let Some(own) = &owner {
                    body["owner"] = json!(own);
                }
                if !tags.is_empty() {
                    body["tags"] = json!(tags);
                }
                let list_path = format!("/images?name={}", q(&name));
                let op = self
                    .op("image.create", &name)
                    .arg("disk_format", &disk_format);
                let planned = json!({"status": "queued"});
                self.create_listed(op, &IMAGES, &name, &list_path, body, planned)?
            }
        };
        let id = sid(&img);
        let path = std::path::PathBuf::from(&file);
        self.update(
            self.op("image.upload", &name)
                .arg("file", &file)
                .arg("bytes", len),
            |c| {
                c.call(
                    Method::PUT,
                    "image",
                    &format!("/images/{id}/file"),
                    Body::File(path, len),
                    &[],
                )
                .map(|_| Value::Null)
            },
            Value::Null,
        )?;
        if self.fx.is_plan() || id.is_planned() {
            return Ok(img);
        }
        self.get_opt("image", &format!("/images/{id}"))
            .map(|v| v.unwrap_or(img))
    }

    /// The image `name` uploaded already (`i`, active): refused when its content is not the
    /// file's (`hash`, unknown in a plan of a file not made yet), its owner made `owner`.
    fn image_uploaded(
        &self,
        i: Value,
        name: &str,
        hash: Option<&str>,
        owner: Option<crate::modules::cloud::id::Id>,
    ) -> Result<Value, Error> {
        let theirs = i["os_hash_value"].as_str().unwrap_or_default();
        if hash.is_some_and(|h| h != theirs) && !theirs.is_empty() {
            return Err(Error::refused(format!(
                "image '{name}' exists with other content (sha512 {}…, the file's is {}…); delete it (cloud::image_delete) to upload the new one",
                &theirs[..12.min(theirs.len())],
                &hash.unwrap_or_default()[..12]
            )));
        }
        let want = owner.as_ref().map(|o| json!(o));
        self.ensure_field(i, "owner", want, name, "image", |id, own| {
            let patch = json!([{"op": "replace", "path": "/owner", "value": own}]);
            self.update(
                self.op("image.owner", name).arg("owner", own),
                |c| {
                    c.call(
                        Method::PATCH,
                        "image",
                        &format!("/images/{id}"),
                        Body::ImagePatch(patch.clone()),
                        &[],
                    )
                    .map(|r| r.body)
                },
                Value::Null,
            )
        })
    }

    pub fn image_delete(&self, name: &str) -> Result<bool, Error> {
        let found = self.images(Some(name))?;
        if found.is_empty() {
            self.fx.unchanged(self.op("image.absent", name));
            return Ok(false);
        }
        for i in found {
            let id = sid(&i);
            self.send(
                self.op("image.delete", name).arg("id", &id),
                Method::DELETE,
                "image",
                &format!("/images/{id}"),
                None,
            )?;
        }
        Ok(true)
    }
}
