// Package kql runs the subset of the Kusto Query Language that advanced
// hunting's users write, over tables given to it: a lexer, a parser into a
// tree, and an engine that streams rows through the query's operators.
//
// A caller describes each table with the Table interface (its name, its
// columns with their KQL types, an iterator of its rows) and calls Run
// with the query text, the tables and Options (the clock of now() and
// ago(), the row limit, the memory limit). The Result is the schema and
// the rows, JSON-ready; Result.MarshalJSON prints it as the MDE API does,
// {"Schema":[{"Name","Type"}],"Results":[{…}]}, and Result.AppendJSON
// with other keys as Graph's runHuntingQuery does. Every error in the
// query is an *Error naming its line and column, and the operator or
// function when the query uses one outside the subset: never a wrong
// answer.
//
// The lexer and parser are package kql/syntax. Both packages import only
// the standard library.
//
// # The subset
//
// Statements: let name = scalar; let name = tabular expression; then one
// tabular expression. Sources: a table, a tabular let, (a pipeline),
// union. Operators: where, project, project-away, project-rename, extend,
// summarize … by … (count, countif, dcount, sum, avg, min, max, arg_max,
// arg_min, make_set, make_list), top … by, take, limit, sort by, order by,
// distinct, count, join (kind= innerunique, the default, inner,
// leftouter, leftanti, leftsemi; on names or $left.a == $right.b), union,
// mv-expand (to typeof(t) too). Expressions: == != < <= > >= =~ !~ has
// !has has_any contains !contains startswith !startswith endswith
// !endswith in !in in~ !in~ between !between, and, or, not(), + - * / %
// (with datetime ± timespan, datetime - datetime, timespan literals such as
// 7d, 1h, 30m, 10s, 100ms), x.name and x[i] on dynamic values, and the
// functions ago, now, datetime, timespan, dynamic, bin, startofday,
// tostring, toint, tolong, todouble, tolower, toupper, strcat, strlen,
// substring, split, isempty, isnotempty, isnull, iff (iif), case,
// coalesce, parse_json, array_length, pack and bag_pack.
//
// # Semantics
//
// As Kusto: names and keywords are case-sensitive; == and in compare
// strings exactly, =~, in~, has, contains, startswith and endswith ignore
// case; has matches whole terms (a term is a run of ASCII letters and digits,
// so an underscore or a dot ends one);
// strings are never null (an empty string stands for none), and a
// comparison or arithmetic with a null is null, which where drops; sort
// and top order descending unless asc is given, nulls last when
// descending and first when ascending; summarize returns its by columns,
// then its aggregations, named count_, countif_, dcount_X, sum_X, avg_X,
// min_X, max_X, make_set_X, make_list_X, and arg_max's value column under
// the name of its column, then the columns it returns (with *, the input
// columns not already by columns); an expression with no name is named
// after its column (bin(Timestamp, 1d) is Timestamp) or Column1, Column2…;
// join's default kind is innerunique (one left row per key), and a right
// column whose name the left has takes a number (DeviceId1); bin on
// datetimes counts from 0001-01-01 as .NET does.
//
// # Decisions
//
// Where Kusto leaves an order unspecified, this engine is deterministic:
// summarize returns groups, and distinct its rows, in the order of their
// first row; join returns left rows in order, each with its right matches
// in order; union returns its inputs one after the other; sort is stable.
// dcount is exact. A result longer than Options.MaxRows is cut there and
// marked Truncated. Operators that hold rows (sort, top, summarize,
// distinct, join's right side, make_set, make_list, dcount, in with a
// tabular let) count them against Options.MaxHeld, and the query fails
// when it would pass it: memory is bounded by the limit, not by the
// tables. A Table is read as a stream: where, project, extend, take, union,
// mv-expand and join's left side hold no row, take stops the scan, and
// sort followed by take runs as top (it holds only the rows it returns).
// The context is checked every 1,024 rows of every scan.
package kql
