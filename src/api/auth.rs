//! Who is calling: user tokens (Bearer header, or `?token=` for websockets) compared in
//! constant time, and roles (viewer reads, responder acts, admin does all).

use super::error::ApiError;
use crate::config::{Role, UserConfig};
use axum::http::{header, HeaderMap, StatusCode, Uri};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub name: String,
    pub role: Role,
}

impl Caller {
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            return Ok(());
        }
        let needed = match role {
            Role::Viewer => "viewer",
            Role::Responder => "responder",
            Role::Admin => "admin",
        };
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            format!(
                "user {} may not do this: it needs the {needed} role",
                self.name
            ),
        ))
    }
}

pub fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

pub struct Users {
    users: Vec<([u8; 32], Caller)>,
}

impl Users {
    pub fn new(users: &[UserConfig]) -> Self {
        Users {
            users: users
                .iter()
                .map(|user| {
                    (
                        digest(&user.token),
                        Caller {
                            name: user.name.clone(),
                            role: user.role,
                        },
                    )
                })
                .collect(),
        }
    }

    /// Compares digests (equal length, so no length leak) against every user without
    /// stopping early, so timing says nothing about which token came close.
    pub fn find(&self, token: &str) -> Option<Caller> {
        let offered = digest(token);
        let mut found = None;
        for (stored, caller) in &self.users {
            if bool::from(stored.ct_eq(&offered)) {
                found = Some(caller.clone());
            }
        }
        found
    }

    pub fn authenticate(&self, headers: &HeaderMap, uri: &Uri) -> Result<Caller, ApiError> {
        let token = bearer(headers).or_else(|| query_token(uri));
        token
            .and_then(|token| self.find(&token))
            .ok_or_else(ApiError::unauthorized)
    }
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

fn query_token(uri: &Uri) -> Option<String> {
    uri.query()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("token="))
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn users() -> Users {
        Users::new(&[
            UserConfig {
                name: "alice".into(),
                token: "alice-token-0123456789".into(),
                role: Role::Responder,
            },
            UserConfig {
                name: "vic".into(),
                token: "viewer-token-0123456789".into(),
                role: Role::Viewer,
            },
        ])
    }

    #[test]
    fn finds_users_by_bearer_or_query_token() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::AUTHORIZATION,
            "Bearer alice-token-0123456789".parse().unwrap(),
        );
        let uri: Uri = "/v1/incidents".parse().unwrap();
        assert_eq!(users().authenticate(&headers, &uri).unwrap().name, "alice");
        let uri: Uri = "/v1/stream?x=1&token=viewer-token-0123456789"
            .parse()
            .unwrap();
        let caller = users().authenticate(&HeaderMap::new(), &uri).unwrap();
        assert_eq!(caller.name, "vic");
        assert!(caller.require(Role::Responder).is_err());
    }

    #[test]
    fn refuses_missing_and_wrong_tokens() {
        let uri: Uri = "/v1/incidents".parse().unwrap();
        let missing = users().authenticate(&HeaderMap::new(), &uri).unwrap_err();
        assert_eq!(missing.status, StatusCode::UNAUTHORIZED);
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Bearer alice-token".parse().unwrap());
        assert!(users().authenticate(&headers, &uri).is_err());
    }
}
