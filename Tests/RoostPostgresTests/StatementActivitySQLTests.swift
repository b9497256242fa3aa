@testable import RoostPostgres
import Testing

@Suite("Statement activity SQL")
struct StatementActivitySQLTests {
    @Test("the journal write's parameters are numbered after the highest parameter the statement uses")
    func numbersParametersAfterTheStatements() {
        #expect(StatementActivity.highestParameter(in: "INSERT INTO t VALUES ($2, $10, $1)") == 10)
        #expect(StatementActivity.highestParameter(in: "DELETE FROM t WHERE price > '$'") == 0)
        #expect(StatementActivity.highestParameter(in: "UPDATE t SET n = n + 1") == 0)
        let wrapped = StatementActivity.wrap("INSERT INTO t VALUES ($1, $2);\n", firstParameter: 3)
        #expect(wrapped.hasPrefix("WITH activity AS (INSERT INTO t VALUES ($1, $2)\n)"))
        #expect(wrapped.contains("write_activity($3::bigint, $4::text, $5::text, $6::text, $7::bigint, $8::text)"))
    }
}
