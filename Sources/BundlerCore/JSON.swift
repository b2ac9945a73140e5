import FoundationEssentials

/// A JSON value as JSONDecoder reads it, which keeps true and false apart from 1 and 0.
/// Foundation's JSONSerialization is not used: `bundle` links FoundationEssentials only,
/// without Foundation's ICU data (README, "One file to copy").
enum JSONValue: Codable, Equatable {
    case null, bool(Bool), number(Double), string(String), array([JSONValue]), object([String: JSONValue])

    init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() { self = .null }
        else if let flag = try? container.decode(Bool.self) { self = .bool(flag) }
        else if let number = try? container.decode(Double.self) { self = .number(number) }
        else if let text = try? container.decode(String.self) { self = .string(text) }
        else if let list = try? container.decode([JSONValue].self) { self = .array(list) }
        else { self = .object(try container.decode([String: JSONValue].self)) }
    }

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let flag): try container.encode(flag)
        case .number(let number): try container.encode(number)
        case .string(let text): try container.encode(text)
        case .array(let list): try container.encode(list)
        case .object(let members): try container.encode(members)
        }
    }

    /// The document in `bytes`, or nil when it is not JSON.
    static func parse(_ bytes: [UInt8]) -> JSONValue? {
        try? JSONDecoder().decode(JSONValue.self, from: Data(bytes))
    }

    /// The top-level object of `bytes` as plain values (`[String: Any]`, `[Any]`,
    /// `String`, `Double`, `Bool`, and `JSONValue.null`), or nil when it is no JSON object.
    static func object(in bytes: [UInt8]) -> [String: Any]? {
        parse(bytes)?.plain as? [String: Any]
    }

    var plain: Any {
        switch self {
        case .null: self
        case .bool(let flag): flag
        case .number(let number): number
        case .string(let text): text
        case .array(let list): list.map(\.plain)
        case .object(let members): members.mapValues(\.plain)
        }
    }
}
