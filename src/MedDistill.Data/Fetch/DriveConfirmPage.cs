using System.Net;
using System.Text.RegularExpressions;

namespace MedDistill.Data.Fetch;

/// <summary>
/// Google Drive answers a direct download of a large file with an HTML page ("Google Drive can't scan this file for viruses")
/// instead of the bytes. Three variants are handled, newest first:
/// <list type="number">
/// <item>a form (<c>id="download-form"</c>) whose action is the real download endpoint and whose hidden inputs carry
/// <c>id</c>, <c>export</c>, <c>confirm</c> and <c>uuid</c>: submit it as a GET;</item>
/// <item>a link whose query holds <c>confirm=TOKEN</c>: follow it;</item>
/// <item>a <c>download_warning…=TOKEN</c> cookie: repeat the request with <c>confirm=TOKEN</c> added.</item>
/// </list>
/// </summary>
public static partial class DriveConfirmPage
{
    /// <summary>The URL that fetches the file, or null when the page is not a recognised confirmation page.</summary>
    public static Uri? FindDownloadUrl(string html, Uri pageUrl, IEnumerable<string> setCookieHeaders)
    {
        foreach (Match form in FormRegex().Matches(html))
        {
            var attributes = Attributes(form.Groups["open"].Value);
            var inputs = InputRegex().Matches(form.Groups["body"].Value)
                .Select(m => Attributes(m.Value))
                .Where(a => a.ContainsKey("name"))
                .Select(a => (Name: a["name"], Value: a.GetValueOrDefault("value", "")))
                .ToList();
            if (!inputs.Any(i => i.Name == "confirm")) continue;
            var action = attributes.GetValueOrDefault("action", "");
            if (!Uri.TryCreate(pageUrl, action, out var target)) continue;
            var query = string.Join("&", inputs.Select(i => $"{Uri.EscapeDataString(i.Name)}={Uri.EscapeDataString(i.Value)}"));
            return new UriBuilder(target) { Query = query }.Uri;
        }

        foreach (Match link in HrefRegex().Matches(html))
        {
            var href = WebUtility.HtmlDecode(link.Groups["href"].Value);
            if (!ConfirmParamRegex().IsMatch(href)) continue;
            if (Uri.TryCreate(pageUrl, href, out var target)) return target;
        }

        foreach (var header in setCookieHeaders)
        {
            var m = WarningCookieRegex().Match(header);
            if (m.Success) return WithQueryParameter(pageUrl, "confirm", m.Groups["token"].Value);
        }
        return null;
    }

    /// <summary>Drive's refusal pages, which no retry fixes soon: the error to show instead of "unexpected HTML".</summary>
    public static string? FindRefusal(string html)
    {
        if (html.Contains("Quota exceeded", StringComparison.OrdinalIgnoreCase)
            || html.Contains("Too many users have viewed or downloaded this file recently", StringComparison.OrdinalIgnoreCase))
            return "Google Drive refuses the download for now (download quota exceeded); try again in 24 h, or download it in a " +
                   "browser signed in to Google and import it with 'meddistill data import'";
        if ((html.Contains("ServiceLogin", StringComparison.Ordinal) || html.Contains("accounts.google.com", StringComparison.Ordinal))
            && !html.Contains("download-form", StringComparison.Ordinal))
            return "Google Drive asks to sign in: the file is not shared publicly; download it in a browser and import it";
        return null;
    }

    internal static Uri WithQueryParameter(Uri url, string name, string value)
    {
        var builder = new UriBuilder(url);
        var kept = builder.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries)
            .Where(p => !p.StartsWith(name + "=", StringComparison.Ordinal));
        builder.Query = string.Join("&", kept.Append($"{name}={Uri.EscapeDataString(value)}"));
        return builder.Uri;
    }

    private static Dictionary<string, string> Attributes(string tag)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (Match m in AttributeRegex().Matches(tag))
            result[m.Groups["key"].Value] = WebUtility.HtmlDecode(m.Groups["dq"].Success ? m.Groups["dq"].Value : m.Groups["sq"].Value);
        return result;
    }

    [GeneratedRegex(@"(?<open><form\b[^>]*>)(?<body>.*?)</form>", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex FormRegex();

    [GeneratedRegex(@"<input\b[^>]*>", RegexOptions.IgnoreCase)]
    private static partial Regex InputRegex();

    [GeneratedRegex(@"(?<key>[A-Za-z_:][-A-Za-z0-9_:.]*)\s*=\s*(?:""(?<dq>[^""]*)""|'(?<sq>[^']*)')")]
    private static partial Regex AttributeRegex();

    [GeneratedRegex(@"href\s*=\s*""(?<href>[^""]*)""", RegexOptions.IgnoreCase)]
    private static partial Regex HrefRegex();

    [GeneratedRegex(@"[?&](amp;)?confirm=[0-9A-Za-z_-]+")]
    private static partial Regex ConfirmParamRegex();

    [GeneratedRegex(@"^\s*download_warning[^=]*=(?<token>[0-9A-Za-z_-]+)")]
    private static partial Regex WarningCookieRegex();
}
