//! What asking a service over HTTP with a time budget needs, shared by the TSA and witness
//! clients: an agent bounded by the budget, and asking several at once.

use std::time::Duration;

/// An agent whose every phase (connect, send, receive, the whole request) fits in `budget`;
/// no redirects followed, every status returned as an answer.
pub(crate) fn agent(budget: Duration, user_agent: &str) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(budget))
        .timeout_per_read(Some(budget))
        .timeout_recv_response(Some(budget))
        .timeout_global(Some(budget))
        .max_redirects(0)
        .http_status_as_error(false)
        .user_agent(user_agent)
        .build()
        .new_agent()
}

/// Runs `ask` on each item at once, one thread each, and returns the answers in order; `None`
/// items are not asked. A thread that panics answers `Err`.
pub(crate) fn in_parallel<I: Sync, T: Send>(
    items: &[Option<I>],
    ask: impl Fn(&I) -> Result<T, String> + Sync,
) -> Vec<Option<Result<T, String>>> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = items
            .iter()
            .map(|item| item.as_ref().map(|i| scope.spawn(|| ask(i))))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err("the request failed unexpectedly".into()))
                })
            })
            .collect()
    })
}
