//! A loopback TCP relay the tests can cut, to make a database "go away" and come back.

use std::{net::SocketAddr, sync::Arc};
use tokio::{
    net::{TcpListener, TcpStream},
    sync::Mutex,
    task::JoinSet,
};

pub struct TcpProxy {
    pub address: SocketAddr,
    upstream: SocketAddr,
    tasks: Arc<Mutex<JoinSet<()>>>,
}

impl TcpProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let address = listener.local_addr().unwrap();
        let proxy = TcpProxy {
            address,
            upstream,
            tasks: Arc::new(Mutex::new(JoinSet::new())),
        };
        proxy.serve(listener).await;
        proxy
    }

    async fn serve(&self, listener: TcpListener) {
        let upstream = self.upstream;
        let tasks = self.tasks.clone();
        let accept_tasks = self.tasks.clone();
        tasks.lock().await.spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                accept_tasks.lock().await.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
    }

    /// Drops the listener and every relayed connection: the database is now unreachable.
    pub async fn cut(&self) {
        self.tasks.lock().await.abort_all();
    }

    /// Listens again on the same address.
    pub async fn restore(&self) {
        let listener = TcpListener::bind(self.address).await.expect("rebind the proxy");
        self.serve(listener).await;
    }
}
