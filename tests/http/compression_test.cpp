// Compression's pure parts: Accept-Encoding negotiation, the compressible types, and the codecs
// (streamed and whole encoding, bounded decoding, corrupt and truncated input).
#include "brigade/http/compression.hpp"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "../../src/http/content_coding.hpp"
#include "same_bytes.hpp"

namespace brigade::http {
namespace {

using testing::same_bytes;
constexpr Coding kAll[] = {Coding::kBrotli, Coding::kZstd, Coding::kGzip, Coding::kDeflate};
constexpr Coding kCodecs[] = {Coding::kGzip, Coding::kDeflate, Coding::kBrotli, Coding::kZstd};

std::string negotiated(std::string_view header, std::span<const Coding> offered = kAll) {
  std::optional<Coding> c = negotiate_encoding(header, offered);
  return c ? std::string(coding_name(*c)) : "none";
}

TEST(AcceptEncoding, Negotiation) {
  EXPECT_EQ(negotiated(""), "identity");  // no header, or an empty one
  EXPECT_EQ(negotiated("gzip"), "gzip");
  EXPECT_EQ(negotiated("GZip"), "gzip");
  EXPECT_EQ(negotiated("x-gzip"), "gzip");
  EXPECT_EQ(negotiated("gzip, deflate, br, zstd"), "br");  // ties: the server's order
  EXPECT_EQ(negotiated("gzip, deflate, br"), "br");
  EXPECT_EQ(negotiated("deflate, gzip"), "gzip");
  EXPECT_EQ(negotiated("gzip;q=0.5, deflate;q=0.8"), "deflate");  // q first
  EXPECT_EQ(negotiated("br;q=0.1, gzip;q=0.9"), "gzip");
  EXPECT_EQ(negotiated("gzip;q=0, br"), "br");         // a refusal
  EXPECT_EQ(negotiated("gzip;q=0"), "identity");       // refused; identity stays
  EXPECT_EQ(negotiated("*"), "br");                    // any: the server's first
  EXPECT_EQ(negotiated("*;q=0.5, gzip;q=0.1"), "br");  // * gives br 0.5
  EXPECT_EQ(negotiated("*;q=0, gzip"), "gzip");        // only gzip
  EXPECT_EQ(negotiated("*;q=0"), "none");              // identity refused too
  EXPECT_EQ(negotiated("identity;q=0, *;q=0"), "none");
  EXPECT_EQ(negotiated("identity;q=0"), "none");  // no coding named either
  EXPECT_EQ(negotiated("identity;q=0, gzip;q=0.1"), "gzip");
  EXPECT_EQ(negotiated("identity, gzip"), "gzip");  // a tie goes to compression
  EXPECT_EQ(negotiated("identity;q=1, gzip;q=0.9"), "identity");
  EXPECT_EQ(negotiated("compress, unknown-thing"), "identity");
  EXPECT_EQ(negotiated("gzip ; q=0.3 , br ; q=0.2"), "gzip");  // whitespace
  EXPECT_EQ(negotiated("gzip;Q=0.3, br;q=0.2"), "gzip");       // Q is q
  EXPECT_EQ(negotiated("gzip;q=1.000, br;q=0.999"), "gzip");
  EXPECT_EQ(negotiated("gzip;level=1"), "gzip");  // another parameter
  // Malformed qvalues make their element ignored.
  EXPECT_EQ(negotiated("br;q=2, gzip"), "gzip");
  EXPECT_EQ(negotiated("br;q=0.1234, gzip;q=0.1"), "gzip");
  EXPECT_EQ(negotiated("br;q=, gzip;q=0.1"), "gzip");
  EXPECT_EQ(negotiated("br;q=1.5"), "identity");
  EXPECT_EQ(negotiated(",,, ,gzip,,"), "gzip");
  EXPECT_EQ(negotiated("g zip"), "identity");
  // The listed twice: the higher q counts.
  EXPECT_EQ(negotiated("gzip;q=0, gzip;q=0.5"), "gzip");
  // Only what the server offers; an order of its own.
  Coding gzip_first[] = {Coding::kGzip, Coding::kBrotli};
  EXPECT_EQ(negotiated("br, gzip, zstd", gzip_first), "gzip");
  Coding only_zstd[] = {Coding::kZstd};
  EXPECT_EQ(negotiated("br, gzip", only_zstd), "identity");
  EXPECT_EQ(negotiated("zstd", only_zstd), "zstd");
}

TEST(AcceptEncoding, CodingNames) {
  for (Coding c : kCodecs) EXPECT_EQ(coding_from_name(coding_name(c)), c);
  EXPECT_EQ(coding_from_name("BR"), Coding::kBrotli);
  EXPECT_EQ(coding_from_name("identity"), Coding::kIdentity);
  EXPECT_FALSE(coding_from_name("compress"));
  EXPECT_FALSE(coding_from_name(""));
}

TEST(Compressible, TypesAsExpressSees) {
  for (const char* yes : {"text/html", "text/plain; charset=utf-8", "TEXT/CSS", "application/json",
                          "application/json; charset=utf-8", "application/problem+json",
                          "application/javascript", "image/svg+xml", "application/xml",
                          "text/event-stream", " application/ld+json ", "font/ttf"})
    EXPECT_TRUE(compressible(yes)) << yes;
  for (const char* no : {"", "image/png", "image/jpeg", "video/mp4", "audio/mpeg",
                         "application/zip", "application/gzip", "application/octet-stream",
                         "font/woff2", "application/pdf", "application/x-unknown"})
    EXPECT_FALSE(compressible(no)) << no;
}

std::string sample_text(std::size_t n) {
  std::string s;
  std::mt19937 rng(7);
  const char* words[] = {"alpha ", "beta ", "gamma ", "delta\n", "{\"id\": ", "42, "};
  while (s.size() < n) s += words[rng() % 6];
  s.resize(n);
  return s;
}

std::string random_bytes(std::size_t n) {
  std::string s(n, '\0');
  std::mt19937 rng(11);
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

// Decodes `coded` fed in `piece`-byte pieces with `max_out` per call; "" and `error` on failure.
std::string decode_all(Coding coding, std::string_view coded, std::size_t piece,
                       std::size_t max_out, std::string* error = nullptr) {
  auto d = detail::Decoder::make(coding);
  std::string out;
  while (!coded.empty()) {
    std::string_view in = coded.substr(0, piece);
    coded.remove_prefix(in.size());
    for (;;) {
      std::size_t before = out.size();
      auto st = d->decode(in, out, max_out);
      if (st == detail::Decoder::Status::kError) {
        if (error) *error = d->error();
        return "";
      }
      if (in.empty() && out.size() - before < max_out) break;
    }
  }
  if (d->finish() != detail::Decoder::Status::kEnd) {
    if (error) *error = d->error();
    return "";
  }
  return out;
}

TEST(ContentCoding, WholeAndStreamedRoundTrips) {
  std::string text = sample_text(300000);
  std::string noise = random_bytes(70000);
  for (Coding c : kCodecs) {
    SCOPED_TRACE(std::string(coding_name(c)));
    int level = c == Coding::kBrotli ? 4 : c == Coding::kZstd ? 3 : 6;
    std::string whole;
    detail::compress_whole(c, level, text, whole);
    EXPECT_LT(whole.size(), text.size() / 3);
    EXPECT_TRUE(same_bytes(decode_all(c, whole, 1 << 20, 1 << 16), text));
    EXPECT_TRUE(same_bytes(decode_all(c, whole, 7, 100), text));  // tiny pieces, tiny output steps
    detail::compress_whole(c, level, text, whole);                // the per-thread state is reused
    EXPECT_TRUE(same_bytes(decode_all(c, whole, 4096, 1 << 16), text));
    detail::compress_whole(c, level, noise, whole);  // incompressible: still round trips
    EXPECT_TRUE(same_bytes(decode_all(c, whole, 4096, 1 << 16), noise));
    detail::compress_whole(c, level, "", whole);
    EXPECT_TRUE(same_bytes(decode_all(c, whole, 10, 10), ""));

    // Streamed with a flush per write: each flush makes what was written decodable at once.
    auto enc = detail::Encoder::make(c, level);
    auto dec = detail::Decoder::make(c);
    std::string wire, seen;
    for (std::size_t at = 0; at < 5000; at += 1000) {
      std::string out;
      enc->write(std::string_view(text).substr(at, 1000), true, out);
      std::string_view in = out;
      while (!in.empty()) dec->decode(in, seen, 1 << 16);
      EXPECT_TRUE(same_bytes(seen, text.substr(0, at + 1000)));  // the reader has every byte so far
      wire += out;
    }
    std::string tail;
    enc->finish(tail);
    wire += tail;
    EXPECT_TRUE(same_bytes(decode_all(c, wire, 333, 1000), text.substr(0, 5000)));
  }
  EXPECT_FALSE(detail::Encoder::make(Coding::kIdentity, 0));
  EXPECT_FALSE(detail::Decoder::make(Coding::kIdentity));
}

TEST(ContentCoding, DecodingIsBoundedPerCall) {
  std::string zeros(8 << 20, '\0');  // 8 MiB of zeros: a few KiB coded
  for (Coding c : kCodecs) {
    SCOPED_TRACE(std::string(coding_name(c)));
    std::string bomb;
    detail::compress_whole(c, 1, zeros, bomb);
    EXPECT_LT(bomb.size(), 64u * 1024);
    auto d = detail::Decoder::make(c);
    std::string out;
    std::string_view in = bomb;
    d->decode(in, out, 4096);
    EXPECT_EQ(out.size(), 4096u);  // never more than asked, however much the input holds
    EXPECT_LE(out.capacity(), 64u * 1024);
  }
}

TEST(ContentCoding, CorruptAndTruncatedInputFails) {
  std::string text = sample_text(50000);
  for (Coding c : kCodecs) {
    SCOPED_TRACE(std::string(coding_name(c)));
    std::string coded;
    detail::compress_whole(c, 5, text, coded);
    std::string error;
    EXPECT_TRUE(
        same_bytes(decode_all(c, coded.substr(0, coded.size() / 2), 1000, 4096, &error), ""));
    EXPECT_NE(error, "");  // truncated
    error.clear();
    EXPECT_TRUE(same_bytes(decode_all(c, "this is not compressed at all", 1000, 4096, &error), ""));
    EXPECT_NE(error, "");
    error.clear();
    std::string flipped = coded;
    for (std::size_t i = 4; i < flipped.size(); i += 97)
      flipped[i] = static_cast<char>(~flipped[i]);
    EXPECT_TRUE(same_bytes(decode_all(c, flipped, 1000, 4096, &error), ""));
    EXPECT_NE(error, "");
    error.clear();  // bytes after the end (for zstd: not a frame's start)
    EXPECT_TRUE(same_bytes(decode_all(c, coded + "junk", 1000, 4096, &error), ""));
    EXPECT_NE(error, "");
  }
  // Two gzip members are one body (RFC 1952), as Node's gunzip reads them.
  std::string a, b;
  detail::compress_whole(Coding::kGzip, 6, "first ", a);
  detail::compress_whole(Coding::kGzip, 6, "second", b);
  EXPECT_TRUE(same_bytes(decode_all(Coding::kGzip, a + b, 5, 100), "first second"));
}

}  // namespace
}  // namespace brigade::http
