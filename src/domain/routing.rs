//! Routing: the first rule whose matchers all match decides an alert's service, escalation
//! policy and urgency; a default applies when none does.

use super::matcher::{all_match, Matcher, Subject};
use super::severity::Severity;
use serde::{Deserialize, Serialize};

/// How hard to wake people: each person's notification rules differ by urgency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Urgency {
    High,
    Low,
}

impl Urgency {
    /// Critical and error page loudly; warning and info quietly, unless a route says so.
    pub fn for_severity(severity: Severity) -> Urgency {
        match severity {
            Severity::Critical | Severity::Error => Urgency::High,
            Severity::Warning | Severity::Info => Urgency::Low,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Urgency::High => "high",
            Urgency::Low => "low",
        }
    }
}

impl std::str::FromStr for Urgency {
    type Err = String;
    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "high" => Ok(Urgency::High),
            "low" => Ok(Urgency::Low),
            other => Err(format!("unknown urgency {other:?}: expected high or low")),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Route {
    pub name: String,
    pub matchers: Vec<Matcher>,
    /// Sets the incident's service when the alert did not name one.
    pub service: Option<String>,
    pub policy: Option<String>,
    pub urgency: Option<Urgency>,
    /// `false`: what it matches is stored and shown, but pages nobody (not even the default
    /// policy), like Alertmanager's null receiver.
    pub page: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Routing {
    pub routes: Vec<Route>,
    /// The policy when no route matches, or the matching route names none.
    pub default_policy: Option<String>,
    /// The urgency when no route sets one; else it follows the severity.
    pub default_urgency: Option<Urgency>,
}

/// What routing decided for one alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// The matching route's name; `None` when the default applied.
    pub route: Option<String>,
    pub service: Option<String>,
    pub policy: Option<String>,
    pub urgency: Urgency,
    /// The matching route says to page nobody.
    pub quiet: bool,
}

impl Routing {
    pub fn decide(&self, subject: &Subject<'_>) -> Decision {
        let route = self
            .routes
            .iter()
            .find(|route| all_match(&route.matchers, subject));
        let urgency = route
            .and_then(|route| route.urgency)
            .or(self.default_urgency)
            .unwrap_or_else(|| Urgency::for_severity(subject.severity));
        Decision {
            route: route.map(|route| route.name.clone()),
            service: subject
                .service
                .map(str::to_string)
                .or_else(|| route.and_then(|route| route.service.clone())),
            policy: match route {
                Some(route) if !route.page => None,
                _ => route
                    .and_then(|route| route.policy.clone())
                    .or_else(|| self.default_policy.clone()),
            },
            urgency,
            quiet: route.is_some_and(|route| !route.page),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::labels::Labels;
    use std::collections::BTreeMap;

    fn route(name: &str, matchers: &[&str], policy: &str, urgency: Option<Urgency>) -> Route {
        Route {
            name: name.to_string(),
            matchers: matchers.iter().map(|text| text.parse().unwrap()).collect(),
            service: Some(format!("{name}-service")),
            policy: Some(policy.to_string()),
            urgency,
            page: true,
        }
    }

    #[test]
    fn first_match_wins_and_the_default_catches_the_rest() {
        let routing = Routing {
            routes: vec![
                route("db", &["team=db", "env=prod"], "db-oncall", None),
                route("db-any", &["team=db"], "db-daytime", Some(Urgency::Low)),
            ],
            default_policy: Some("everyone".to_string()),
            default_urgency: None,
        };
        let mut map = BTreeMap::new();
        map.insert("team".to_string(), "db".to_string());
        map.insert("env".to_string(), "prod".to_string());
        let prod = Labels::from(&map);
        map.insert("env".to_string(), "staging".to_string());
        let staging = Labels::from(&map);
        let empty = Labels::default();
        let subject = |labels, severity| Subject {
            labels,
            service: None,
            severity,
            integration: "prometheus",
        };

        let decision = routing.decide(&subject(&prod, Severity::Critical));
        assert_eq!(decision.route.as_deref(), Some("db"));
        assert_eq!(decision.policy.as_deref(), Some("db-oncall"));
        assert_eq!(decision.service.as_deref(), Some("db-service"));
        assert_eq!(decision.urgency, Urgency::High);

        let decision = routing.decide(&subject(&staging, Severity::Critical));
        assert_eq!(decision.route.as_deref(), Some("db-any"));
        assert_eq!(decision.urgency, Urgency::Low);

        let decision = routing.decide(&subject(&empty, Severity::Warning));
        assert_eq!(decision.route, None);
        assert_eq!(decision.policy.as_deref(), Some("everyone"));
        assert_eq!(decision.urgency, Urgency::Low);
    }

    #[test]
    fn a_route_that_pages_nobody_does_not_fall_back_to_the_default() {
        let mut quiet = route("noise", &["severity=info"], "unused", None);
        quiet.policy = None;
        quiet.page = false;
        let routing = Routing {
            routes: vec![quiet],
            default_policy: Some("everyone".to_string()),
            default_urgency: None,
        };
        let labels = Labels::default();
        let decision = routing.decide(&Subject {
            labels: &labels,
            service: None,
            severity: Severity::Info,
            integration: "generic",
        });
        assert_eq!((decision.policy, decision.quiet), (None, true));
    }

    #[test]
    fn the_alerts_own_service_wins_over_the_routes() {
        let routing = Routing {
            routes: vec![route("any", &[], "p", None)],
            ..Routing::default()
        };
        let labels = Labels::default();
        let decision = routing.decide(&Subject {
            labels: &labels,
            service: Some("api"),
            severity: Severity::Info,
            integration: "generic",
        });
        assert_eq!(decision.service.as_deref(), Some("api"));
    }
}
