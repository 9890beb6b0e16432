using System.CommandLine;
using System.CommandLine.Invocation;
using System.Text;
using MiniGpt.Config;

namespace MiniGpt.Cli.Commands;

/// <summary>
/// Help that, for `minigpt train`, goes on to list every config key with its values, default and
/// description, all read from the keys' declarations. Other commands get the standard help.
/// </summary>
public sealed class ConfigKeysHelp(SynchronousCommandLineAction standard, Command train) : SynchronousCommandLineAction
{
    public override int Invoke(ParseResult r)
    {
        if (r.CommandResult.Command != train) return standard.Invoke(r);
        var captured = new StringWriter();
        var stdout = Console.Out;
        Console.SetOut(captured);
        int code;
        try { code = standard.Invoke(r); }
        finally { Console.SetOut(stdout); }
        // The overrides reach the command as unmatched tokens, which the standard help calls "additional arguments".
        var text = captured.ToString().Replace("[[--] <additional arguments>...]]", "[--<key> <value>...]");
        int extra = text.IndexOf("Additional Arguments:", StringComparison.Ordinal);
        Console.Write((extra >= 0 ? text[..extra].TrimEnd() : text.TrimEnd()) + "\n\n");
        Console.Write(Keys(TrainConfig.Schema, Console.IsOutputRedirected || Console.WindowWidth <= 0 ? 120 : Console.WindowWidth));
        return code;
    }

    /// <summary>The keys by group, one per line (wrapped to <paramref name="width"/>).</summary>
    public static string Keys<T>(ConfigSchema<T> schema, int width) where T : class, new()
    {
        var sb = new StringBuilder("Config keys (in the --config file, or on the command line as --<key> <value>; a default holds where neither sets the key):\n");
        var labels = schema.Keys.ToDictionary(k => k, k => $"--{k.Name} <{k.Values}>");
        int column = labels.Values.Max(l => l.Length) + 6;
        foreach (var group in schema.Keys.GroupBy(k => k.Group))
        {
            sb.Append("  ").Append(GroupName(group.Key)).Append('\n');
            foreach (var key in group)
            {
                var text = $"{key.Description} (default {ConfigProblem.Format(key.Default)}" + (key.Architecture ? "; must match the checkpoint to resume)" : ")");
                sb.Append(Wrap("    " + labels[key].PadRight(column - 4), text, column, Math.Max(width, column + 30)));
            }
        }
        sb.Append("  rules between keys\n");
        foreach (var rule in schema.Rules)
            sb.Append(Wrap("    " + rule.Key.PadRight(column - 4), rule.Help, column, Math.Max(width, column + 30)));
        return sb.ToString();
    }

    static string GroupName(KeyGroup g) => g switch
    {
        KeyGroup.Io => "I/O",
        KeyGroup.Data => "data",
        KeyGroup.Model => "model",
        KeyGroup.Optimizer => "AdamW",
        KeyGroup.Schedule => "learning-rate schedule",
        _ => "system",
    };

    static string Wrap(string label, string text, int column, int width)
    {
        var sb = new StringBuilder(label);
        int lineLength = label.Length;
        foreach (var word in text.Split(' '))
        {
            if (lineLength + 1 + word.Length > width && lineLength > column)
            {
                sb.Append('\n').Append(' ', column);
                lineLength = column;
            }
            else if (lineLength > column) { sb.Append(' '); lineLength++; }
            sb.Append(word);
            lineLength += word.Length;
        }
        return sb.Append('\n').ToString();
    }
}
