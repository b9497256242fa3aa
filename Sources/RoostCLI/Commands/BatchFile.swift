import Foundation
import Roost

/// The JSON lines file of `roost workflow start --batch`: one `{"id": …, "input": …}` per line.
enum BatchFile {
    /// A line of the file: the start it asks for, or why it cannot be read.
    struct Line {
        var number: Int
        var request: Result<Executions.StartRequest, WorkflowError>
    }

    /// Reads the file (`-` for standard input); blank lines are skipped.
    static func read(_ path: String, workflow: String) throws -> [Line] {
        let data: Data
        if path == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: path) else {
                throw WorkflowError(.invalidArgument, "cannot read the batch file '\(path)'")
            }
            data = contents
        }
        var lines: [Line] = []
        for (index, text) in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
            .enumerated() where !text.allSatisfy(\.isWhitespace) {
            lines.append(Line(number: index + 1, request: request(String(text), workflow: workflow)))
        }
        guard !lines.isEmpty else { throw WorkflowError(.invalidArgument, "the batch file '\(path)' has no lines") }
        return lines
    }

    private static func request(_ text: String, workflow: String) -> Result<Executions.StartRequest, WorkflowError> {
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            return .failure(WorkflowError(.invalidPayload, "not a JSON object: expected {\"id\": …, \"input\": …}"))
        }
        guard let id = object["id"] as? String else {
            return .failure(WorkflowError(.invalidArgument, "\"id\" must be a string"))
        }
        guard let input = object["input"] else {
            return .failure(WorkflowError(.invalidArgument, "\"input\" is missing"))
        }
        guard let json = try? JSONSerialization.data(withJSONObject: input, options: [.fragmentsAllowed]) else {
            return .failure(WorkflowError(.invalidPayload, "\"input\" is not JSON"))
        }
        return .success(Executions.StartRequest(workflow: workflow, id: id, input: String(decoding: json, as: UTF8.self)))
    }

    /// Prints one line per refused line and a summary, or every result as JSON.
    static func report(_ results: [(line: Int, outcome: Result<StartResult, WorkflowError>)], json: Bool) {
        if json {
            Output.printJSON(["results": results.map { line, outcome -> [String: Any] in
                switch outcome {
                case .success(let started):
                    return ["line": line, "id": started.record.id, "created": started.created,
                            "status": started.record.status.rawValue]
                case .failure(let error):
                    return ["line": line, "error": ["code": error.code.rawValue, "message": error.message]]
                }
            }])
            return
        }
        var created = 0, existing = 0, refused = 0
        for (line, outcome) in results {
            switch outcome {
            case .success(let started): if started.created { created += 1 } else { existing += 1 }
            case .failure(let error):
                refused += 1
                FileHandle.standardError.write(Data("line \(line): \(error.code.rawValue): \(error.message)\n".utf8))
            }
        }
        print("started \(created), already there \(existing), refused \(refused)")
    }
}
