//! A local implementation of the documented Lambda Runtime API (`/2018-06-01/runtime/...`), so
//! tests run the real `bootstrap` binary the way Lambda does: it long-polls `invocation/next`,
//! handles the event, and posts to `invocation/{id}/response` or `/error`.

use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Default)]
struct State {
    queue: VecDeque<(String, String)>,
    /// request id → (ok, body)
    results: HashMap<String, (bool, String)>,
    init_error: Option<String>,
    /// When the function first asked for an event (`GET invocation/next`): its start-up is done.
    first_next: Option<Instant>,
}

#[derive(Clone)]
pub struct RuntimeApi {
    pub addr: String,
    state: Arc<(Mutex<State>, Condvar)>,
    next_id: Arc<Mutex<u64>>,
}

impl RuntimeApi {
    pub fn start() -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let api = RuntimeApi { addr, state: Arc::default(), next_id: Arc::default() };
        let server = api.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let s = server.clone();
                std::thread::spawn(move || s.serve(conn));
            }
        });
        api
    }

    /// Queue an event and wait for the function's answer: `(true, response)` or `(false, error)`.
    pub fn invoke(&self, event: &serde_json::Value, timeout: Duration) -> (bool, serde_json::Value) {
        let id = {
            let mut n = self.next_id.lock().unwrap();
            *n += 1;
            format!("req-{n}")
        };
        let (lock, cv) = &*self.state;
        lock.lock().unwrap().queue.push_back((id.clone(), event.to_string()));
        cv.notify_all();
        let guard = lock.lock().unwrap();
        let (guard, _) =
            cv.wait_timeout_while(guard, timeout, |s| !s.results.contains_key(&id) && s.init_error.is_none()).unwrap();
        if let Some(e) = &guard.init_error {
            panic!("the function failed to start: {e}");
        }
        let (ok, body) =
            guard.results.get(&id).cloned().unwrap_or_else(|| panic!("no answer to {id} within {timeout:?}"));
        (ok, serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)))
    }

    /// When the function first asked for an event, if it has.
    #[allow(dead_code)]
    pub fn first_next(&self) -> Option<Instant> {
        self.state.0.lock().unwrap().first_next
    }

    fn serve(&self, conn: TcpStream) {
        let mut reader = BufReader::new(conn.try_clone().unwrap());
        let mut out = conn;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let mut parts = line.split_whitespace();
            let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
            let mut len = 0usize;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 {
                    return;
                }
                if h == "\r\n" {
                    break;
                }
                if let Some((k, v)) = h.split_once(':')
                    && k.eq_ignore_ascii_case("content-length")
                {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            let body = String::from_utf8_lossy(&body).to_string();
            let (lock, cv) = &*self.state;
            let response = if method == "GET" && path.ends_with("/runtime/invocation/next") {
                let mut guard = lock.lock().unwrap();
                guard.first_next.get_or_insert_with(Instant::now);
                let mut guard = cv.wait_while(guard, |s| s.queue.is_empty()).unwrap();
                let (id, event) = guard.queue.pop_front().unwrap();
                let deadline =
                    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() + 300_000;
                format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {id}\r\n\
                     Lambda-Runtime-Deadline-Ms: {deadline}\r\n\
                     Lambda-Runtime-Invoked-Function-Arn: arn:aws:lambda:us-east-1:123456789012:function:ecs-reconciler\r\n\
                     Lambda-Runtime-Trace-Id: Root=1-00000000-000000000000000000000000\r\nContent-Length: {}\r\n\r\n{event}",
                    event.len()
                )
            } else if method == "POST" && path.contains("/runtime/invocation/") {
                let id = path.split('/').nth(4).unwrap_or_default().to_string();
                let ok = path.ends_with("/response");
                lock.lock().unwrap().results.insert(id, (ok, body));
                cv.notify_all();
                "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}".to_string()
            } else if method == "POST" && path.ends_with("/runtime/init/error") {
                lock.lock().unwrap().init_error = Some(body);
                cv.notify_all();
                "HTTP/1.1 202 Accepted\r\nContent-Length: 2\r\n\r\n{}".to_string()
            } else {
                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string()
            };
            if out.write_all(response.as_bytes()).is_err() {
                return;
            }
        }
    }
}
