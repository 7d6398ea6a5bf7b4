use std::time::Instant;
fn main() {
    let path = std::path::PathBuf::from(std::env::args().nth(1).unwrap());
    let (sources, _) = charter::source::SourceSet::load(&path).unwrap();
    let t = Instant::now();
    let mut asts = Vec::new();
    for (id, f) in sources.files() { asts.push(charter::syntax::parse(id, &f.text).0); }
    println!("parse {:?}", t.elapsed());
    let t = Instant::now();
    let c = asts.clone();
    println!("clone asts {:?}", t.elapsed());
    drop(c);
    let t = Instant::now();
    let mut r = charter::resolve::Resolver::default();
    for a in asts { r.add_file(a); }
    println!("add_file {:?}", t.elapsed());
    let t = Instant::now();
    let (ir, _d) = r.finish();
    println!("finish {:?}", t.elapsed());
    let t = Instant::now();
    let d = charter::check::check(&ir);
    println!("check {:?} {}", t.elapsed(), d.len());
    let t = Instant::now();
    let snap = charter::emit::emit(&ir, &sources);
    println!("emit {:?}", t.elapsed());
    let t = Instant::now();
    let _ix = charter::query::Index::new(snap);
    println!("index {:?}", t.elapsed());
}
