//! Building the module tree: the root module, then each module call followed to the nodes of
//! its instances (its `count` or `for_each` evaluated); and the instances of any block, memoised.

use super::*;

impl<'a> Tree<'a> {
    /// The tree of the root `files` and the local modules they call, each call's `count` or
    /// `for_each` evaluated to its instances.
    pub(in crate::import) fn build(
        files: &'a [(&'a Path, &'a TfFile)],
        sources: &'a Sources,
        options: &'a ConvertOptions,
    ) -> Self {
        let dir_of = |p: &Path| p.parent().unwrap_or(Path::new(".")).to_path_buf();
        let root_dir = files
            .first()
            .map_or_else(|| PathBuf::from("."), |(p, _)| dir_of(p));
        let mut root_dirs: Vec<PathBuf> = Vec::new();
        for (p, _) in files {
            if let Some(d) = canonical_dir(&dir_of(p))
                && !root_dirs.contains(&d)
            {
                root_dirs.push(d);
            }
        }
        let mut root = Node::new(
            String::new(),
            String::new(),
            root_dir.clone(),
            root_dirs.clone(),
            files,
        );
        root.lineage = root_dirs.clone();
        let mut tree = Tree {
            nodes: vec![root],
            options,
            root_dir,
            memo: RefCell::default(),
            instances: RefCell::default(),
            stack: RefCell::default(),
            cycles: RefCell::default(),
            steps: Cell::new(0),
        };
        let mut i = 0;
        while i < tree.nodes.len() {
            // In order, so a call's `count` or `for_each` may use the outputs of the calls
            // before it.
            for ci in 0..tree.nodes[i].calls.len() {
                let f = tree.follow(i, ci, sources, &root_dirs);
                tree.nodes[i].followed.push(f);
            }
            i += 1;
        }
        // Values evaluated while the tree was incomplete may have missed modules.
        tree.memo.borrow_mut().clear();
        tree.instances
            .borrow_mut()
            .retain(|k, _| k.starts_with("module "));
        tree
    }

    /// Follows call `ci` of node `i`: creates the nodes of its instances.
    fn follow(
        &mut self,
        i: usize,
        ci: usize,
        sources: &'a Sources,
        root_dirs: &[PathBuf],
    ) -> Followed {
        let (file, name) = {
            let c = &self.nodes[i].calls[ci];
            (c.file, c.name.clone())
        };
        let dir = match sources.resolve(file, &name) {
            Ok(d) => d,
            Err(why) => return Followed::Not(why),
        };
        if self.nodes[i].lineage.contains(&dir.path) {
            return Followed::Not(format!(
                "module \"{name}\": {} calls itself (directly or through other modules); not followed",
                dir.path.display()
            ));
        }
        let key = format!("module {}module.{name}", self.nodes[i].prefix);
        let instances = match self.instances_of(i, self.nodes[i].calls[ci].body, &key) {
            Ok(v) => v,
            Err(why) => return Followed::Not(format!("module \"{name}\": {why}")),
        };
        if self.nodes.len() + instances.len() > MAX_MODULES {
            return Followed::Not(format!(
                "module \"{name}\": more than {MAX_MODULES} module instances in one conversion (MAX_MODULES); not followed"
            ));
        }
        let files: Vec<(&'a Path, &'a TfFile)> =
            dir.files.iter().map(|(p, tf)| (p.as_path(), tf)).collect();
        let mut ids = Vec::new();
        for inst in instances {
            let parent = &self.nodes[i];
            let prefix = format!("{}module.{name}{}.", parent.prefix, inst.key.address());
            let qualifier = [
                parent.qualifier.as_str(),
                name.as_str(),
                inst.key.suffix().as_deref().unwrap_or(""),
            ]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join("-");
            let mut sandbox = vec![dir.path.clone()];
            sandbox.extend(root_dirs.iter().cloned());
            let mut lineage = parent.lineage.clone();
            lineage.push(dir.path.clone());
            let mut node = Node::new(prefix, qualifier, dir.path.clone(), sandbox, &files);
            node.parent = Some((i, ci, inst.clone()));
            node.lineage = lineage;
            self.nodes.push(node);
            ids.push((inst.key, self.nodes.len() - 1));
        }
        Followed::Instances(ids)
    }

    /// The instances of a block of node `node` (its `count` or `for_each`), memoised under
    /// `key`, or why they are not known.
    pub(in crate::import::terraform) fn instances_of(
        &self,
        node: usize,
        body: &Body,
        key: &str,
    ) -> Result<Vec<Instance>, String> {
        if let Some(known) = self.instances.borrow().get(key) {
            return known.clone();
        }
        let ctx = Ctx::new(self, Scope::new(node, None));
        let result = ctx.instances(body);
        self.instances
            .borrow_mut()
            .insert(key.to_owned(), result.clone());
        result
    }

    /// The instances of resource `r` of node `node`.
    pub(in crate::import::terraform) fn resource_instances(
        &self,
        node: usize,
        r: &Resource,
    ) -> Result<Vec<Instance>, String> {
        let key = format!("{}{}.{}", self.nodes[node].prefix, r.ty, r.name);
        self.instances_of(node, r.body, &key)
    }

    /// The reference cycles found so far, each as `a → b → a`.
    pub(in crate::import::terraform) fn cycles(&self) -> Vec<String> {
        self.cycles.borrow().iter().cloned().collect()
    }

    /// The address of an instance of resource `r` of node `node`, as Terraform writes it.
    pub(in crate::import::terraform) fn address(
        &self,
        node: usize,
        r: &Resource,
        key: &InstanceKey,
    ) -> String {
        format!(
            "{}{}.{}{}",
            self.nodes[node].prefix,
            r.ty,
            r.name,
            key.address()
        )
    }
}
