using System.CommandLine;
using System.Globalization;
using System.Numerics;

namespace MiniGpt.Cli.Commands;

/// <summary>
/// An option holding a number or nothing. System.CommandLine's own parse error for a nullable type names it
/// as "System.Nullable`1[System.Int32]"; this one says what was expected.
/// </summary>
public static class OptionalNumber
{
    public static Option<T?> Create<T>(string name, string description) where T : struct, INumber<T> => new(name)
    {
        Description = description,
        CustomParser = r => Parse<T>(name, r),
    };

    /// <summary>
    /// An option holding a number, <paramref name="value"/> unless given: System.CommandLine's own error for a value
    /// that is not one named .NET's type ("as expected type 'System.Double'").
    /// </summary>
    public static Option<T> WithDefault<T>(string name, string description, T value) where T : struct, INumber<T> => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => value,
        CustomParser = r => Parse<T>(name, r) ?? value,
    };

    static T? Parse<T>(string name, System.CommandLine.Parsing.ArgumentResult r) where T : struct, INumber<T>
    {
        bool integer = typeof(T) != typeof(double) && typeof(T) != typeof(float);
        var text = r.Tokens.Count == 1 ? r.Tokens[0].Value : "";
        if (T.TryParse(text, integer ? NumberStyles.Integer : NumberStyles.Float, CultureInfo.InvariantCulture, out var value)) return value;
        r.AddError($"{name} '{text}': expected {(integer ? "an integer" : "a number")}");
        return null;
    }
}
