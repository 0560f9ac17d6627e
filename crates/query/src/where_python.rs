//! The Python-like `where` form (`age>23 and lastname=="Doe"`), translated
//! to a MongoDB query document the way Eve's `MongoVisitor` does, with the
//! safer choices of the spec's notes (see the crate docs for the grammar).

use bson::{oid::ObjectId, Bson, Document};

use crate::pylex::{tokenize, Tok, KEYWORDS};

/// Deepest nesting of parentheses (and unary signs) accepted.
pub(crate) const MAX_DEPTH: usize = 100;

/// A parsed boolean expression.
enum Node {
    /// `name op value`; `op` is `""` for equality, else a Mongo operator.
    Cmp(String, &'static str, Bson),
    /// `and`/`or` of several operands: `("$and" | "$or", operands)`.
    Bool(&'static str, Vec<Node>),
}

impl Node {
    /// The single-key query document this node stands for: `(key, value)`.
    fn into_entry(self) -> (String, Bson) {
        match self {
            Node::Cmp(name, "", v) => (name, v),
            Node::Cmp(name, op, v) => {
                let mut d = Document::new();
                d.insert(op, v);
                (name, Bson::Document(d))
            }
            Node::Bool(op, nodes) => {
                let list = nodes
                    .into_iter()
                    .map(|n| {
                        let (k, v) = n.into_entry();
                        let mut d = Document::new();
                        d.insert(k, v);
                        Bson::Document(d)
                    })
                    .collect();
                (op.to_string(), Bson::Array(list))
            }
        }
    }
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
}

type PResult<T> = Result<T, String>;

/// Parses the Python-like form into a query document. Statements
/// (separated by `;` or newlines) are merged into one document, a later key
/// replacing an earlier one, as Eve does.
pub(crate) fn parse_python_where(src: &str) -> Result<Document, String> {
    let toks = tokenize(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
    };
    let mut doc = Document::new();
    loop {
        if p.at_end() {
            break;
        }
        let node = p.parse_or()?;
        let (k, v) = node.into_entry();
        doc.insert(k, v);
        match p.peek() {
            None => break,
            Some(Tok::Newline) => p.pos += 1,
            Some(Tok::Op(";")) => {
                p.pos += 1;
                // A trailing `;` (optionally followed by a newline) is fine,
                // an empty statement between two `;` is not.
                if p.peek() == Some(&Tok::Newline) {
                    p.pos += 1;
                } else if matches!(p.peek(), Some(Tok::Op(";"))) {
                    return Err("invalid syntax: empty statement".into());
                }
            }
            Some(t) => return Err(format!("invalid syntax near {t:?}")),
        }
    }
    if doc.is_empty() {
        return Err("only comparisons combined with `and`/`or` are supported".into());
    }
    Ok(doc)
}

fn is_cmp_op(t: Option<&Tok>) -> Option<&'static str> {
    match t {
        Some(Tok::Op("==")) => Some(""),
        Some(Tok::Op("!=")) => Some("$ne"),
        Some(Tok::Op("<")) => Some("$lt"),
        Some(Tok::Op("<=")) => Some("$lte"),
        Some(Tok::Op(">")) => Some("$gt"),
        Some(Tok::Op(">=")) => Some("$gte"),
        _ => None,
    }
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn at_end(&self) -> bool {
        self.pos >= self.toks.len()
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn eat_op(&mut self, op: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Op(o)) if *o == op) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_op(&mut self, op: &str) -> PResult<()> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(format!("expected '{op}'"))
        }
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Name(n)) if n == kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn enter(&mut self) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(format!("expression nested deeper than {MAX_DEPTH} levels"));
        }
        Ok(())
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// `or_expr := and_expr ('or' and_expr)*`
    fn parse_or(&mut self) -> PResult<Node> {
        let first = self.parse_and()?;
        if !matches!(self.peek(), Some(Tok::Name(n)) if n == "or") {
            return Ok(first);
        }
        let mut nodes = vec![first];
        while self.eat_keyword("or") {
            nodes.push(self.parse_and()?);
        }
        Ok(Node::Bool("$or", nodes))
    }

    /// `and_expr := operand ('and' operand)*`
    fn parse_and(&mut self) -> PResult<Node> {
        let first = self.parse_operand()?;
        if !matches!(self.peek(), Some(Tok::Name(n)) if n == "and") {
            return Ok(first);
        }
        let mut nodes = vec![first];
        while self.eat_keyword("and") {
            nodes.push(self.parse_operand()?);
        }
        Ok(Node::Bool("$and", nodes))
    }

    /// `operand := '(' or_expr ')' | comparison`
    fn parse_operand(&mut self) -> PResult<Node> {
        if self.eat_op("(") {
            self.enter()?;
            let inner = self.parse_or()?;
            self.expect_op(")")?;
            self.leave();
            if is_cmp_op(self.peek()).is_some() {
                return Err("the left side of a comparison must be a field name".into());
            }
            return Ok(inner);
        }
        self.parse_comparison()
    }

    /// `comparison := name cmp_op value (cmp_op value)*`; only the first
    /// comparison of a chain is used (as Eve does).
    fn parse_comparison(&mut self) -> PResult<Node> {
        let name = self.parse_name()?;
        let Some(op) = is_cmp_op(self.peek()) else {
            return Err(format!("expected a comparison operator after {name:?}"));
        };
        self.pos += 1;
        let value = self.parse_value()?;
        while is_cmp_op(self.peek()).is_some() {
            self.pos += 1;
            self.parse_value()?;
        }
        Ok(Node::Cmp(name, op, value))
    }

    /// `name := IDENT ('.' IDENT)*`, keywords excluded.
    fn parse_name(&mut self) -> PResult<String> {
        let mut name = self.ident()?;
        while self.eat_op(".") {
            name.push('.');
            name.push_str(&self.ident()?);
        }
        Ok(name)
    }

    fn ident(&mut self) -> PResult<String> {
        match self.next() {
            Some(Tok::Name(n)) if !KEYWORDS.contains(&n.as_str()) => Ok(n),
            Some(t) => Err(format!("expected a name, found {t:?}")),
            None => Err("unexpected end of input".into()),
        }
    }

    /// A right-hand side value.
    fn parse_value(&mut self) -> PResult<Bson> {
        match self.peek().cloned() {
            Some(Tok::Op("(")) => {
                self.pos += 1;
                self.enter()?;
                let v = self.parse_value()?;
                self.expect_op(")")?;
                self.leave();
                Ok(v)
            }
            Some(Tok::Op(sign @ ("-" | "+"))) => {
                self.pos += 1;
                if let Some(Tok::Int(i)) = self.peek() {
                    // Negate the literal itself so that -2**63 fits.
                    let i = if sign == "-" { -*i } else { *i };
                    self.pos += 1;
                    return int_value(i);
                }
                self.enter()?;
                let v = self.parse_value()?;
                self.leave();
                match (sign, v) {
                    ("+", v @ (Bson::Int32(_) | Bson::Int64(_) | Bson::Double(_))) => Ok(v),
                    ("-", Bson::Int32(i)) => Ok(int_value(-i128::from(i))?),
                    ("-", Bson::Int64(i)) => Ok(int_value(-i128::from(i))?),
                    ("-", Bson::Double(d)) => Ok(Bson::Double(-d)),
                    _ => Err("unary operators only apply to numbers".into()),
                }
            }
            Some(Tok::Str(_)) => {
                let mut s = String::new();
                while let Some(Tok::Str(part)) = self.peek() {
                    s.push_str(part);
                    self.pos += 1;
                }
                Ok(Bson::String(s))
            }
            Some(Tok::Int(i)) => {
                self.pos += 1;
                int_value(i)
            }
            Some(Tok::Float(f)) => {
                self.pos += 1;
                Ok(Bson::Double(f))
            }
            Some(Tok::Name(n)) => match n.as_str() {
                "True" => {
                    self.pos += 1;
                    Ok(Bson::Boolean(true))
                }
                "False" => {
                    self.pos += 1;
                    Ok(Bson::Boolean(false))
                }
                "None" => {
                    self.pos += 1;
                    Ok(Bson::Null)
                }
                _ => {
                    let name = self.parse_name()?;
                    if self.eat_op("(") {
                        self.enter()?;
                        let v = self.parse_call(&name)?;
                        self.leave();
                        Ok(v)
                    } else {
                        // A bare name is taken as a string, as in Eve.
                        Ok(Bson::String(name))
                    }
                }
            },
            Some(t) => Err(format!("unsupported value {t:?}")),
            None => Err("unexpected end of input".into()),
        }
    }

    /// Arguments of `ObjectId(...)` or `datetime(...)`, after the `(`.
    fn parse_call(&mut self, func: &str) -> PResult<Bson> {
        let mut args = Vec::new();
        while !self.eat_op(")") {
            args.push(self.parse_value()?);
            if !self.eat_op(",") {
                self.expect_op(")")?;
                break;
            }
        }
        match func {
            "ObjectId" => match args.as_slice() {
                [Bson::String(hex)] => ObjectId::parse_str(hex)
                    .map(Bson::ObjectId)
                    .map_err(|_| format!("{hex:?} is not a valid ObjectId")),
                _ => Err("ObjectId() takes one 24-hex-digit string".into()),
            },
            "datetime" => datetime_value(&args),
            other => Err(format!("unsupported function {other:?}")),
        }
    }
}

/// An integer as pymongo stores it: Int32 when it fits, else Int64.
fn int_value(i: i128) -> PResult<Bson> {
    if let Ok(v) = i32::try_from(i) {
        Ok(Bson::Int32(v))
    } else if let Ok(v) = i64::try_from(i) {
        Ok(Bson::Int64(v))
    } else {
        Err("integer does not fit in 64 bits".into())
    }
}

/// `datetime(year, month, day[, hour, minute, second[, microsecond]])`, UTC.
fn datetime_value(args: &[Bson]) -> PResult<Bson> {
    if !(3..=7).contains(&args.len()) {
        return Err("datetime() takes 3 to 7 integer arguments".into());
    }
    let mut n = [0_i64; 7];
    for (slot, a) in n.iter_mut().zip(args) {
        *slot = match a {
            Bson::Int32(i) => i64::from(*i),
            Bson::Int64(i) => *i,
            _ => return Err("datetime() arguments must be integers".into()),
        };
    }
    let small =
        |v: i64| u32::try_from(v).map_err(|_| "datetime() argument out of range".to_string());
    let year = i32::try_from(n[0]).map_err(|_| "year out of range".to_string())?;
    if !(1..=9999).contains(&year) {
        return Err("year out of range".into());
    }
    let date = chrono::NaiveDate::from_ymd_opt(year, small(n[1])?, small(n[2])?)
        .ok_or("day is out of range for month")?;
    let micro = small(n[6])?;
    if micro > 999_999 {
        return Err("microsecond must be in 0..999999".into());
    }
    let dt = date
        .and_hms_micro_opt(small(n[3])?, small(n[4])?, small(n[5])?, micro)
        .ok_or("time out of range")?;
    Ok(Bson::DateTime(bson::DateTime::from_chrono(dt.and_utc())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::doc;

    fn p(s: &str) -> Document {
        parse_python_where(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn bad(s: &str) {
        assert!(
            parse_python_where(s).is_err(),
            "{s:?} should be rejected, got {:?}",
            parse_python_where(s)
        );
    }

    #[test]
    fn translates_each_comparison_operator() {
        assert_eq!(p(r#"lastname=="Doe""#), doc! {"lastname": "Doe"});
        assert_eq!(p("a!=1"), doc! {"a": {"$ne": 1}});
        assert_eq!(p("a<1"), doc! {"a": {"$lt": 1}});
        assert_eq!(p("a<=1"), doc! {"a": {"$lte": 1}});
        assert_eq!(p("a>1"), doc! {"a": {"$gt": 1}});
        assert_eq!(p("a>=1.5"), doc! {"a": {"$gte": 1.5}});
    }

    #[test]
    fn and_binds_tighter_than_or() {
        assert_eq!(
            p("a==1 or b==2 and c==3"),
            doc! {"$or": [{"a": 1}, {"$and": [{"b": 2}, {"c": 3}]}]}
        );
        assert_eq!(
            p("age<=3 and (name=='x' or rank>2)"),
            doc! {"$and": [{"age": {"$lte": 3}}, {"$or": [{"name": "x"}, {"rank": {"$gt": 2}}]}]}
        );
    }

    #[test]
    fn and_chains_are_flat_but_parenthesised_groups_nest() {
        assert_eq!(
            p("a==1 and b==2 and c==3"),
            doc! {"$and": [{"a": 1}, {"b": 2}, {"c": 3}]}
        );
        assert_eq!(
            p("(a==1 and b==2) and c==3"),
            doc! {"$and": [{"$and": [{"a": 1}, {"b": 2}]}, {"c": 3}]}
        );
        assert_eq!(p("((a==1))"), doc! {"a": 1});
    }

    #[test]
    fn dotted_names_and_bare_names() {
        assert_eq!(p("location.city==SF"), doc! {"location.city": "SF"});
        assert_eq!(p("a==b.c"), doc! {"a": "b.c"});
    }

    #[test]
    fn python_constants_map_to_json_constants() {
        assert_eq!(
            p("a==True;b==False;c==None"),
            doc! {"a": true, "b": false, "c": Bson::Null}
        );
    }

    #[test]
    fn unary_minus_is_honoured() {
        assert_eq!(p("a==-1"), doc! {"a": -1});
        assert_eq!(p("a>-1.5"), doc! {"a": {"$gt": -1.5}});
        assert_eq!(p("a==--2"), doc! {"a": 2});
        assert_eq!(p("a==+3"), doc! {"a": 3});
        assert_eq!(p("a==-2147483648"), doc! {"a": i32::MIN});
        assert_eq!(p("a==2147483648"), doc! {"a": 2_147_483_648_i64});
        assert_eq!(p("a==-9223372036854775808"), doc! {"a": i64::MIN});
        bad("a==9223372036854775808");
        bad("a==-'x'");
        bad("a==-b");
    }

    #[test]
    fn objectid_and_datetime_calls() {
        assert_eq!(
            p(r#"ref==ObjectId("5f0000000000000000000003")"#),
            doc! {"ref": ObjectId::parse_str("5f0000000000000000000003").unwrap()}
        );
        let d = chrono::NaiveDate::from_ymd_opt(1985, 2, 25)
            .unwrap()
            .and_hms_opt(17, 0, 0)
            .unwrap()
            .and_utc();
        assert_eq!(
            p("born>=datetime(1985,2,25,17,0,0)"),
            doc! {"born": {"$gte": bson::DateTime::from_chrono(d)}}
        );
        let d2 = chrono::NaiveDate::from_ymd_opt(2000, 1, 31)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        assert_eq!(
            p("d==datetime(2000, 1, 31,)"),
            doc! {"d": bson::DateTime::from_chrono(d2)}
        );
    }

    #[test]
    fn invalid_calls_are_rejected() {
        bad(r#"a==ObjectId("xyz")"#);
        bad("a==ObjectId()");
        bad("a==ObjectId(1)");
        bad("a==datetime(2000,2,30)");
        bad("a==datetime(2000,1)");
        bad("a==datetime(2000,1,1,24,0,0)");
        bad("a==datetime(0,1,1)");
        bad("a==datetime('2000',1,1)");
        bad("a==foo(1)");
        bad("a==datetime.datetime(2000,1,1)");
    }

    #[test]
    fn statements_merge_into_one_query() {
        assert_eq!(p("x==1;y==2"), doc! {"x": 1, "y": 2});
        assert_eq!(p("x==1;y==2;"), doc! {"x": 1, "y": 2});
        assert_eq!(p("x==1\ny==2"), doc! {"x": 1, "y": 2});
        assert_eq!(p("x==1;x==3"), doc! {"x": 3});
        bad("x==1;;y==2");
        bad(";x==1");
    }

    #[test]
    fn chained_comparisons_keep_only_the_first() {
        assert_eq!(p("a>1>0"), doc! {"a": {"$gt": 1}});
        assert_eq!(p("a==1<2"), doc! {"a": 1});
    }

    #[test]
    fn string_literals_use_either_quote_and_concatenate() {
        assert_eq!(p("a=='x' \"y\""), doc! {"a": "xy"});
        assert_eq!(p(r#"a=="it's""#), doc! {"a": "it's"});
    }

    #[test]
    fn rejects_everything_that_is_not_a_comparison() {
        for s in [
            "",
            " ",
            "a",
            "foo bar",
            "not a==1",
            "a in [1,2]",
            "a==[1,2]",
            "a is None",
            "a==1 and b",
            "1==a",
            "(a)==1",
            "a=1",
            "a==",
            "==1",
            "a==1 or",
            "a==(1",
            "a.==1",
            "a==1j",
            "a==b'x'",
            "a==f'x'",
            "a==1+2",
            "a==b.c(1)",
            "True==1",
            "a==1 if b else 2",
            "lambda: 1",
            "a==1)",
            "a==1 b==2",
            "a==not",
            "a=={'x': 1}",
            "a==(1,2)",
        ] {
            bad(s);
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let deep = format!("{}a==1{}", "(".repeat(10_000), ")".repeat(10_000));
        bad(&deep);
        let ok = format!("{}a==1{}", "(".repeat(50), ")".repeat(50));
        assert_eq!(p(&ok), doc! {"a": 1});
        let minus = format!("a=={}1", "-".repeat(10_000));
        bad(&minus);
    }
}
