//! Email: building the comment notification, and the two ways to deliver it — SMTP
//! (`SMTP_URL`: Mailpit in docker compose, or a provider over TLS; [`smtp`]) or `.eml` files in a folder (the embedded
//! default). [`outbox`] and [`worker`] are the optimized path: queue in the database,
//! deliver in the background.

pub mod outbox;
pub mod sink;
mod smtp;
pub mod worker;

use anyhow::Context;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{Address, AsyncFileTransport, AsyncTransport, Message, Tokio1Executor};

use crate::base::config::MailSettings;
pub use smtp::SmtpServer;

/// The sender of every email.
pub const FROM: &str = "perfblog <notifications@perfblog.localhost>";

/// Delivers messages over SMTP or into a folder.
#[derive(Clone)]
pub enum Mailer {
    Smtp(SmtpServer),
    Folder(AsyncFileTransport<Tokio1Executor>),
}

impl Mailer {
    pub fn new(settings: &MailSettings) -> anyhow::Result<Self> {
        match settings {
            MailSettings::Smtp { server, ca_file } => Ok(Mailer::Smtp(SmtpServer::new(
                server.clone(),
                ca_file.as_deref(),
            )?)),
            MailSettings::Folder(dir) => {
                std::fs::create_dir_all(dir).with_context(|| {
                    format!("could not create the mail folder {}", dir.display())
                })?;
                Ok(Mailer::Folder(AsyncFileTransport::new(dir)))
            }
        }
    }

    pub async fn send(&self, message: Message) -> Result<(), String> {
        match self {
            Mailer::Smtp(smtp) => smtp.send(message.envelope(), &message.formatted()).await,
            Mailer::Folder(folder) => folder
                .send(message)
                .await
                .map(drop)
                .map_err(|e| e.to_string()),
        }
    }
}

/// "New comment on …": what the post's author is told. Built from validated parts;
/// every header value goes through lettre's typed builders, which encode rather than
/// pass through line breaks, so no field can add a header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommentNotification {
    pub author_name: String,
    pub author_email: String,
    pub post_title: String,
    pub post_url: String,
    pub commenter_name: String,
    pub comment: String,
}

impl CommentNotification {
    /// `"Name" <address>`, as stored in the outbox and written in `To:`: built by
    /// lettre, which quotes the name, so a name with `:` or `,` stays a name.
    pub fn recipient(&self) -> Result<String, String> {
        let address: Address = self
            .author_email
            .parse()
            .map_err(|e| format!("author email `{}`: {e}", self.author_email))?;
        Ok(Mailbox::new(Some(one_line(&self.author_name)), address).to_string())
    }

    pub fn subject(&self) -> String {
        format!("New comment on “{}”", one_line(&self.post_title))
    }

    pub fn text(&self) -> String {
        format!(
            "{} commented on your post “{}”:\n\n{}\n\nRead it and reply: {}\n",
            one_line(&self.commenter_name),
            one_line(&self.post_title),
            self.comment,
            self.post_url
        )
    }
}

/// Builds the message. `message_id` is set by the outbox (stable per row, so a
/// duplicate delivery is recognisable); `None` lets lettre make a random one.
pub fn message(
    recipient: &str,
    subject: &str,
    text: &str,
    message_id: Option<String>,
) -> Result<Message, String> {
    let to: Mailbox = recipient
        .parse()
        .map_err(|e| format!("recipient `{recipient}`: {e}"))?;
    let from: Mailbox = FROM.parse().map_err(|e| format!("sender: {e}"))?;
    Message::builder()
        .from(from)
        .to(to)
        .subject(one_line(subject))
        .message_id(message_id)
        .header(ContentType::TEXT_PLAIN)
        .body(text.to_owned())
        .map_err(|e| e.to_string())
}

/// Whether `raw` is an email address lettre will accept in a header.
pub fn is_address(raw: &str) -> bool {
    raw.parse::<Address>().is_ok()
}

/// Header text stays on one line: control characters become spaces.
fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notification() -> CommentNotification {
        CommentNotification {
            author_name: "Ada\r\nBcc: evil@example.com".to_owned(),
            author_email: "ada@example.com".to_owned(),
            post_title: "Title\r\nBcc: evil@example.com".to_owned(),
            post_url: "http://127.0.0.1:3000/posts/title".to_owned(),
            commenter_name: "Grace".to_owned(),
            comment: "Nice\r\n.\r\nwork".to_owned(),
        }
    }

    #[test]
    fn no_field_can_add_a_header() {
        let n = notification();
        let message = message(&n.recipient().unwrap(), &n.subject(), &n.text(), None).unwrap();
        let raw = String::from_utf8(message.formatted()).unwrap();
        let headers = raw.split("\r\n\r\n").next().unwrap();
        assert!(
            !headers.lines().any(|line| line.starts_with("Bcc:")),
            "{headers}"
        );
    }

    #[test]
    fn addresses_are_checked() {
        assert!(is_address("user1@example.com"));
        for bad in ["", "no-at-sign", "a@b\r\nBcc: x@y.z", "two@@example.com"] {
            assert!(!is_address(bad), "{bad:?}");
        }
    }
}
