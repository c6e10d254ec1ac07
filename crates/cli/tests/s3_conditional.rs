//! Conditional writes on a real S3-compatible server (moto_server): the
//! compare-and-swap that publishing a manifest relies on. Signed requests
//! (moto answers an unsigned conditional write with 403, not 412), so the
//! credentials go in this process's environment: one test per binary.

use stac_indexed_io::{Io, IoOptions, S3Options, Uri};
use stac_indexed_test_support::*;

/// The manifest's compare-and-swap on S3: `If-None-Match: *` to create,
/// `If-Match: <ETag>` to replace, and of writers racing from one version
/// exactly one wins.
#[test]
fn s3_writes_conditioned_on_the_version_read() {
    let Some(moto) = Moto::start() else {
        return;
    };
    for (name, value) in moto.env() {
        // SAFETY: this is the only test of this binary, and no other
        // thread runs yet: nothing reads the environment meanwhile.
        unsafe { std::env::set_var(name, value) };
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(race_on(moto));
}

async fn race_on(moto: Moto) {
    moto.create_bucket("cas").await;
    let options = IoOptions {
        s3: S3Options {
            endpoint: Some(moto.endpoint.clone()),
            allow_http: true,
            anonymous: false,
        },
        ..IoOptions::default()
    };
    let io = std::sync::Arc::new(Io::new(options).unwrap());
    let uri = Uri::parse("s3://cas/index/manifest.json").unwrap();
    assert!(io.get_versioned(&uri).await.unwrap().is_none());
    assert!(io.put_if(&uri, b"1".to_vec().into(), None).await.unwrap());
    assert!(
        !io.put_if(&uri, b"x".to_vec().into(), None).await.unwrap(),
        "created once only"
    );
    let (bytes, first) = io.get_versioned(&uri).await.unwrap().unwrap();
    assert_eq!(&bytes[..], b"1");
    assert!(io.put_if(&uri, b"2".to_vec().into(), Some(&first)).await.unwrap());
    assert!(!io.put_if(&uri, b"3".to_vec().into(), Some(&first)).await.unwrap());
    assert_eq!(moto.get("cas", "index/manifest.json").await.unwrap(), b"2");

    let (_, current) = io.get_versioned(&uri).await.unwrap().unwrap();
    let writers: Vec<_> = (0..8)
        .map(|n| {
            let (io, uri, version) = (io.clone(), uri.clone(), current.clone());
            tokio::spawn(async move {
                io.put_if(&uri, format!("w{n}").into_bytes().into(), Some(&version))
                    .await
            })
        })
        .collect();
    let mut won = 0;
    for writer in writers {
        won += usize::from(writer.await.unwrap().unwrap());
    }
    assert_eq!(won, 1, "one writer replaced the version all of them read");
}
