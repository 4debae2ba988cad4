//! Lowering: a clause of the syntax tree compiled into the engine's rule
//! form (variables numbered, constants interned, models resolved).

use super::{Program, location};
use crate::Error;
use crate::ir::{Aggregate, Arg, Call, Expr, Lit, Var};
use nesy_lang::SourceFile;
use nesy_lang::ast::{self, Literal, NegationTarget};
use rustc_hash::FxHashMap;
use std::collections::HashSet;
use std::sync::Arc;

pub(super) fn for_each_literal_var(literal: &Literal, f: &mut dyn FnMut(&ast::Variable)) {
    match literal {
        Literal::Atom(a) => a.args.iter().for_each(|e| e.for_each_var(f)),
        Literal::Negation(n) => match &n.target {
            NegationTarget::Atom(a) => a.args.iter().for_each(|e| e.for_each_var(f)),
            NegationTarget::ModelCall(m) => m.args.iter().for_each(|e| e.for_each_var(f)),
        },
        Literal::Comparison(c) => {
            c.lhs.for_each_var(f);
            c.rhs.for_each_var(f);
        }
        Literal::Aggregate(a) => {
            f(&a.result);
            a.terms.iter().for_each(|e| e.for_each_var(f));
            a.body.iter().for_each(|l| for_each_literal_var(l, f));
        }
        Literal::ModelCall(m) => m.args.iter().for_each(|e| e.for_each_var(f)),
    }
}

/// Lowers one clause: numbers its variables and interns its constants.
pub(super) struct Lowering<'p> {
    pub(super) program: &'p mut Program,
    pub(super) source: &'p SourceFile,
    pub(super) vars: Vec<String>,
    pub(super) ids: FxHashMap<String, Var>,
    /// Literals a model call in an expression needs (the call itself, and
    /// the feature atoms of an entity), added to the enclosing body.
    pub(super) hoisted: Vec<Lit>,
}

impl<'p> Lowering<'p> {
    pub(super) fn new(program: &'p mut Program, source: &'p SourceFile) -> Self {
        Lowering {
            program,
            source,
            vars: Vec::new(),
            ids: FxHashMap::default(),
            hoisted: Vec::new(),
        }
    }

    pub(super) fn var_id(&mut self, name: &str) -> Var {
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        let id = self.vars.len();
        self.vars.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    pub(super) fn fresh(&mut self) -> Var {
        let id = self.vars.len();
        self.vars.push(format!("_{id}"));
        id
    }

    pub(super) fn error(&self, offset: usize, message: impl Into<String>) -> Error {
        Error::Compile {
            location: Some(location(self.source, offset)),
            message: message.into(),
        }
    }

    pub(super) fn expr(&mut self, e: &ast::Expr) -> Result<Expr, Error> {
        Ok(match e {
            ast::Expr::Var(v) if v.is_anonymous() => {
                return Err(self.error(v.span.start, "`_` has no value in an expression"));
            }
            ast::Expr::Var(v) => Expr::Var(self.var_id(&v.name)),
            ast::Expr::Const(c) => {
                let value = self.program.constant(&c.value);
                Expr::Const(Arc::make_mut(&mut self.program.interner).intern(value))
            }
            ast::Expr::Binary { op, lhs, rhs, .. } => {
                Expr::Binary(*op, Box::new(self.expr(lhs)?), Box::new(self.expr(rhs)?))
            }
            ast::Expr::Neg { inner, .. } => Expr::Neg(Box::new(self.expr(inner)?)),
            ast::Expr::ModelCall(m) => {
                let mut extra = Vec::new();
                let (call, value) = self.call(m, true, &mut extra)?;
                self.hoisted.append(&mut extra);
                self.hoisted.push(call);
                match value {
                    Some(v) => Expr::Var(v),
                    None => return Err(self.error(m.span.start, "the model gives no value")),
                }
            }
        })
    }

    pub(super) fn model_missing(&self, m: &ast::ModelCall) -> Error {
        self.error(
            m.span.start,
            format!(
                "model `{}` is not loaded (its `@model` file could not be read)",
                m.model.text
            ),
        )
    }

    /// Lowers `model.method(args)`. As a literal the arguments are the
    /// inputs then every output; in an expression only the inputs, and the
    /// value is the first output. The inputs are the model's features in
    /// order, or one entity whose features are read from binary relations
    /// named like the features (`income(E, V)`), added to `extra`.
    pub(super) fn call(
        &mut self,
        m: &ast::ModelCall,
        expression: bool,
        extra: &mut Vec<Lit>,
    ) -> Result<(Lit, Option<Var>), Error> {
        let Some(model) = self.program.models.0.get(&m.model.text).cloned() else {
            return Err(self.model_missing(m));
        };
        let signature = model
            .signature(&m.method.text)
            .map_err(|e| self.error(m.method.span.start, e))?;
        let (n_in, n_out) = (signature.inputs.len(), signature.outputs.len());
        let given = m.args.len();
        let outputs_given = if expression { 0 } else { n_out };
        let entity = if given == n_in + outputs_given {
            false
        } else if given == 1 + outputs_given && signature.entity_inputs {
            true
        } else {
            let shape = |inputs: &str| {
                if expression {
                    inputs.to_string()
                } else {
                    format!("{inputs}, {}", signature.outputs.join(", "))
                }
            };
            return Err(self.error(
                m.span.start,
                if signature.entity_inputs {
                    format!(
                        "`{}.{}` takes ({}) or (Entity{}): {} arguments given",
                        m.model.text,
                        m.method.text,
                        shape(&signature.inputs.join(", ")),
                        if expression {
                            String::new()
                        } else {
                            format!(", {}", signature.outputs.join(", "))
                        },
                        given
                    )
                } else {
                    format!(
                        "`{}.{}` takes ({}): {} arguments given",
                        m.model.text,
                        m.method.text,
                        shape(&signature.inputs.join(", ")),
                        given
                    )
                },
            ));
        };
        let mut args = m.args.iter();
        let mut inputs = Vec::new();
        if entity {
            let Some(first) = args.next() else {
                return Err(self.error(m.span.start, "a model call needs its inputs"));
            };
            let e = self.input_arg(first, extra)?;
            for feature in &signature.inputs {
                let v = self.fresh();
                let name = ast::Name {
                    text: feature.clone(),
                    span: m.span,
                };
                let rel = self.program.relation_id(&name, 2, self.source)?;
                extra.push(Lit::Atom {
                    rel,
                    args: vec![e, Arg::Var(v)],
                });
                inputs.push(Arg::Var(v));
            }
        } else {
            for _ in 0..n_in {
                let Some(a) = args.next() else { break };
                inputs.push(self.input_arg(a, extra)?);
            }
        }
        let mut outputs = Vec::new();
        let mut value = None;
        for i in 0..n_out {
            let arg = if expression { None } else { args.next() };
            let out = match arg {
                None => {
                    let v = self.fresh();
                    if i == 0 {
                        value = Some(v);
                    }
                    Arg::Var(v)
                }
                Some(ast::Expr::Var(v)) if v.is_anonymous() => Arg::Var(self.fresh()),
                Some(ast::Expr::Var(v)) => Arg::Var(self.var_id(&v.name)),
                Some(ast::Expr::Const(c)) => {
                    let value = self.program.constant(&c.value);
                    Arg::Const(Arc::make_mut(&mut self.program.interner).intern(value))
                }
                Some(other) => {
                    return Err(self.error(
                        other.span().start,
                        "a model's outputs are variables or constants, not expressions",
                    ));
                }
            };
            outputs.push(out);
        }
        Ok((
            Lit::Call(Box::new(Call {
                model_name: m.model.text.clone(),
                model,
                method: m.method.text.clone(),
                inputs,
                outputs,
                exclusive: signature.exclusive,
            })),
            value,
        ))
    }

    /// An input argument: bound variables and constants as they are,
    /// expressions through a fresh variable; `_` is refused.
    pub(super) fn input_arg(&mut self, e: &ast::Expr, extra: &mut Vec<Lit>) -> Result<Arg, Error> {
        match e {
            ast::Expr::Var(v) if v.is_anonymous() => {
                Err(self.error(v.span.start, "a model's inputs must be bound, not `_`"))
            }
            other => self.arg(other, extra),
        }
    }

    /// One argument: `_` is any value, variables and constants are as they
    /// are, an expression becomes a fresh variable constrained by an
    /// equality placed in `extra`.
    pub(super) fn arg(&mut self, a: &ast::Expr, extra: &mut Vec<Lit>) -> Result<Arg, Error> {
        Ok(match a {
            ast::Expr::Var(v) if v.is_anonymous() => Arg::Wild,
            ast::Expr::Var(v) => Arg::Var(self.var_id(&v.name)),
            ast::Expr::Const(c) => {
                let value = self.program.constant(&c.value);
                Arg::Const(Arc::make_mut(&mut self.program.interner).intern(value))
            }
            other => {
                let fresh = self.fresh();
                let rhs = self.expr(other)?;
                extra.push(Lit::Cmp {
                    op: ast::CmpOp::Eq,
                    lhs: Expr::Var(fresh),
                    rhs,
                });
                Arg::Var(fresh)
            }
        })
    }

    /// An atom's arguments; expressions become fresh variables constrained
    /// by an equality placed in `extra`.
    pub(super) fn args(
        &mut self,
        atom: &ast::Atom,
        extra: &mut Vec<Lit>,
    ) -> Result<Vec<Arg>, Error> {
        atom.args.iter().map(|a| self.arg(a, extra)).collect()
    }

    /// Lowers a body; `outside` names the variables the rest of the clause
    /// (its head, or an enclosing rule) mentions, to find aggregate groups.
    pub(super) fn body(&mut self, body: &[Literal], outside: &[String]) -> Result<Vec<Lit>, Error> {
        let mut out = Vec::new();
        for (i, literal) in body.iter().enumerate() {
            out.append(&mut self.hoisted);
            let mark = out.len();
            match literal {
                Literal::Atom(atom) => {
                    let mut extra = Vec::new();
                    let args = self.args(atom, &mut extra)?;
                    let rel = self
                        .program
                        .relation_id(&atom.relation, args.len(), self.source)?;
                    out.push(Lit::Atom { rel, args });
                    out.extend(extra);
                }
                Literal::Negation(n) => match &n.target {
                    NegationTarget::Atom(atom) => {
                        let mut extra = Vec::new();
                        let args = self.args(atom, &mut extra)?;
                        let rel =
                            self.program
                                .relation_id(&atom.relation, args.len(), self.source)?;
                        out.extend(extra);
                        out.push(Lit::Neg { rel, args });
                    }
                    NegationTarget::ModelCall(m) => {
                        return Err(self.error(
                            m.span.start,
                            "a model call cannot be negated; compare its answer instead, as in `m.predict(X) != \"good\"`",
                        ));
                    }
                },
                Literal::Comparison(c) => out.push(Lit::Cmp {
                    op: c.op,
                    lhs: self.expr(&c.lhs)?,
                    rhs: self.expr(&c.rhs)?,
                }),
                Literal::ModelCall(m) => {
                    let mut extra = Vec::new();
                    let (call, _) = self.call(m, false, &mut extra)?;
                    out.extend(extra);
                    out.push(call);
                }
                Literal::Aggregate(agg) => {
                    // Names the rest of the clause mentions: the aggregate
                    // groups by those of its variables.
                    let mut elsewhere: HashSet<String> = outside.iter().cloned().collect();
                    for (j, other) in body.iter().enumerate() {
                        if j != i {
                            for_each_literal_var(other, &mut |v| {
                                elsewhere.insert(v.name.clone());
                            });
                        }
                    }
                    let mut inside = Vec::new();
                    for t in &agg.terms {
                        t.for_each_var(&mut |v| inside.push(v.name.clone()));
                    }
                    for l in &agg.body {
                        for_each_literal_var(l, &mut |v| inside.push(v.name.clone()));
                    }
                    let mut group = Vec::new();
                    for name in inside {
                        if name != "_" && name != agg.result.name && elsewhere.contains(&name) {
                            let id = self.var_id(&name);
                            if !group.contains(&id) {
                                group.push(id);
                            }
                        }
                    }
                    let terms = agg
                        .terms
                        .iter()
                        .map(|t| self.expr(t))
                        .collect::<Result<Vec<_>, _>>()?;
                    let inner_outside: Vec<String> = elsewhere.into_iter().collect();
                    let inner = self.body(&agg.body, &inner_outside)?;
                    let result = self.var_id(&agg.result.name);
                    out.push(Lit::Agg(Box::new(Aggregate {
                        result,
                        function: agg.function,
                        terms,
                        body: inner,
                        group,
                    })));
                }
            }
            // A model call an expression needs runs before the expression.
            let calls: Vec<Lit> = self.hoisted.drain(..).collect();
            out.splice(mark..mark, calls);
        }
        out.append(&mut self.hoisted);
        Ok(out)
    }
}
