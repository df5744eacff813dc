// Package odata parses the OData v4 query options that Microsoft Defender
// for Endpoint documents for its lists ($filter, $top, $skip, $select,
// $orderby, $count, $expand, $skiptoken, and the non-OData pageSize) and
// evaluates $filter over entities without reflection or allocation.
//
// A caller describes an entity set once with NewSchema, parses a request's
// raw query with ParseQuery (or one option with Parse, ParseOrderBy or
// ParseSelect), and runs Filter.Match over its entities, which it exposes
// through the Entity interface by property index. Filter.EqualityOn tells
// it when a filter names a few values of one property, so that it can use
// an index instead of a scan; Schema.Compare sorts as $orderby says. Every
// error is an *Error naming the option and a 1-based position in its value,
// for the caller to answer with 400 ODataError.
//
// The package imports only the standard library, and no net/http.
//
// # The filter language
//
// Comparisons eq, ne, gt, ge, lt and le between a property and a literal
// (either side); and, or, not and parentheses; "prop in (v, ...)";
// startswith, endswith and contains of a String property (or of a lambda
// variable) and a string literal; a Bool property alone; and lambdas over a
// StringCollection: "tags/any(t: <condition on t>)", "tags/all(t: ...)" and
// "tags/any()". Literals are 'strings' (a quote doubled inside), 64-bit
// integers, true, false, null, and unquoted dates: 2018-08-01Z,
// 2019-11-22T00:00:00Z, with up to 7 fractional digits and Z or an offset
// ±hh:mm of at most 14:00; the seconds may be left out. Not supported:
// arithmetic, comparing two properties, functions other than the three,
// nested lambdas, enum literals qualified by type name, and decimals.
// MaxFilterLength and MaxDepth bound the input.
//
// # Decisions
//
// The MDE documentation leaves these open; docs/compatibility.md gives the reasons.
//
//   - Property names, keywords, operators, function names, true, false,
//     null and option names match in any letter case (the docs write both
//     computerDnsName and ComputerDnsName). Filter.String prints the
//     schema's spelling and lower-case keywords.
//   - String comparisons (eq, ne, in, the ordering operators, startswith,
//     endswith, contains, and $orderby) fold ASCII letters and compare
//     other bytes exactly: 'MyMachine' eq 'mymachine'. Fold gives the
//     matching index key.
//   - An Enum literal must be one of the property's Values, in any case
//     ('high' is 'High'); anything else is an error listing them. Enums
//     order by the position of their Values, so "riskScore ge 'Medium'"
//     means Medium or High. An entity value that is not among them equals
//     no literal and fails every ordering.
//   - A null value equals only null: "p ne 'x'" holds when p is null, and
//     "not (p eq 'x')" too. An ordering comparison with null, on either
//     side, is false. (This is the two-valued logic of C#'s lifted
//     operators, as LINQ evaluates a filter, not SQL's three-valued one.)
//   - A '+' outside string literals is a space: clients send MDE's
//     documented "riskScore+eq+'High'". ParseQuery decodes values as a form
//     does ('+' is a space, %2B a plus), so a date offset must be sent as
//     %2B01:00; a '+' that still reaches a date literal right after its
//     time is read as the offset.
//   - A date literal needs Z or an offset (a bare 2018-08-01 is an error);
//     its instant must lie in years 0001 to 9999 in UTC.
//   - ParseQuery refuses an unknown $-option, the OData options it does not
//     implement ($search, $format, $apply, ...), and any option given twice;
//     it ignores other parameters, but for pageSize: an integer of at least
//     1, lowered to the maximum $top when larger.
package odata
