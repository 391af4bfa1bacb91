// Oracle for HostserverDB: reads hex-encoded UTF-8 connection strings, one per line, and answers
// whether the SQL client (Mono's System.Data.SqlClient, which K2's .NET Framework client
// mirrors for the keywords compared) accepts each one, by building a SqlConnection from it
// (parses and validates every keyword and value, does not connect).
//   OK
//   ERR <hex exception type and message>
using System;
using System.Data.SqlClient;
using System.Text;

static class SqlClientOracle
{
    static string Hex(string s)
    {
        var sb = new StringBuilder();
        foreach (byte b in Encoding.UTF8.GetBytes(s)) sb.Append(b.ToString("x2"));
        return sb.Length == 0 ? "-" : sb.ToString();
    }

    static string Unhex(string h)
    {
        if (h == "-") return "";
        var bytes = new byte[h.Length / 2];
        for (int i = 0; i < bytes.Length; i++) bytes[i] = Convert.ToByte(h.Substring(2 * i, 2), 16);
        return Encoding.UTF8.GetString(bytes);
    }

    static void Main()
    {
        string line;
        while ((line = Console.ReadLine()) != null)
        {
            try
            {
                using (var c = new SqlConnection(Unhex(line.Trim()))) { }
                Console.WriteLine("OK");
            }
            catch (Exception e)
            {
                Console.WriteLine("ERR " + Hex(e.GetType().Name + ": " + e.Message));
            }
        }
    }
}
