// The helper wire format: every message round-trips; every truncation, oversize header,
// unknown tag and bad entry name is a Corruption naming what is wrong.
#include "guest/helper_protocol.h"

#include <gtest/gtest.h>

#include "support/status_matchers.h"

namespace rpfs::guest {
namespace {

std::string Payload(const HelperMessage& m) { return EncodeFrame(m).substr(kFrameHeaderBytes); }

HelperMessage RoundTrip(const HelperMessage& m) {
  std::string frame = EncodeFrame(m);
  auto length = DecodeFrameHeader(frame.substr(0, kFrameHeaderBytes));
  EXPECT_OK(length.status());
  EXPECT_EQ(length.ok() ? *length : 0, frame.size() - kFrameHeaderBytes);
  auto back = DecodeMessage(frame.substr(kFrameHeaderBytes));
  EXPECT_OK(back.status());
  if (!back.ok()) return HelperMessage{};
  EXPECT_EQ(Payload(*back), Payload(m));  // the same bytes again
  return *back;
}

std::vector<HelperMessage> Samples() {
  HelperCall open;
  open.op = HelperOp::kOpen;
  open.fs_type = FsType::kNtfs;
  open.volume_size = 1ull << 40;
  open.name = "vg0-root";
  HelperCall lookup;
  lookup.op = HelperOp::kLookup;
  lookup.ino = 2;
  lookup.name = std::string("a\xff\x01", 3);
  HelperCall read;
  read.op = HelperOp::kRead;
  read.ino = 12;
  read.offset = 1ull << 33;
  read.length = kMaxFileReadBytes;
  FileAttr attr;
  attr.ino = 5;
  attr.mode = 0100644;
  attr.mtime_ns = -7;
  FileAttr dir_attr;
  dir_attr.ino = 9;
  dir_attr.mode = 0040755;
  std::vector<DirEntry> entries = {{"x y", 9, 0040000, dir_attr},
                                   {std::string("\x80\x01", 2), 10, 0, std::nullopt}};
  std::vector<FileExtent> extents = {{0, 4096, FileExtent::Kind::kVolume, 1 << 20},
                                     {4096, 10, FileExtent::Kind::kInline, 0}};
  HelperCall dirs;
  dirs.op = HelperOp::kReadDirs;
  dirs.inos = {2, 1ull << 40, 15};
  std::vector<DirListing> listings = {{2, Status::OK(), entries},
                                      {15, Status::NotADirectory("ino 15 is a file"), {}},
                                      {16, Status::OK(), {}}};
  HelperCall files;
  files.op = HelperOp::kMapFiles;
  files.inos = {12, 1ull << 40};
  files.max_extents = kMaxBatchExtents;
  std::vector<FileMap> maps = {{12, Status::OK(), extents},
                               {13, Status::TooLarge("file 13 has 2000 extents"), {}},
                               {14, Status::OK(), {}}};
  return {open,
          lookup,
          read,
          dirs,
          HelperReply{Status::OK(), listings},
          files,
          HelperReply{Status::OK(), maps},
          VolumeReadRequest{123, kMaxVolumeReadBytes},
          VolumeData{Status::OK(), std::string("\0bytes", 6)},
          VolumeData{Status::IOError("vda: read failed", 5), ""},
          HelperReply{Status::OK(), OpenedFs{2, "journal replayed"}},
          HelperReply{Status::OK(), attr},
          HelperReply{Status::OK(), entries},
          HelperReply{Status::OK(), std::string("target")},
          HelperReply{Status::OK(), extents},
          HelperReply{Status::OK(), FileBytes{"data"}},
          HelperReply{Status::OK(), Xattrs{{"user.k", std::string("\0", 1)}}},
          HelperReply{Status::NotADirectory("ino 5 is a file"), {}}};
}

TEST(HelperProtocolTest, EveryMessageRoundTrips) {
  for (const HelperMessage& m : Samples()) RoundTrip(m);
  auto reply = std::get<HelperReply>(RoundTrip(HelperReply{Status::IOError("disk gone", 5), {}}));
  EXPECT_TRUE(reply.status.IsIOError());
  EXPECT_EQ(reply.status.message(), "disk gone");
  EXPECT_EQ(reply.status.sys_errno(), 5);
  auto listed = std::get<HelperReply>(RoundTrip(Samples()[4]));
  const auto& listings = std::get<std::vector<DirListing>>(listed.payload);
  ASSERT_EQ(listings.size(), 3u);
  EXPECT_EQ(listings[0].entries.size(), 2u);
  EXPECT_EQ(listings[1].status.code(), Status::Code::kNotADirectory);
  EXPECT_EQ(listings[1].status.message(), "ino 15 is a file");
  EXPECT_EQ(std::get<HelperCall>(RoundTrip(Samples()[3])).inos,
            (std::vector<uint64_t>{2, 1ull << 40, 15}));
  auto mapped = std::get<HelperReply>(RoundTrip(Samples()[6]));
  const auto& maps = std::get<std::vector<FileMap>>(mapped.payload);
  ASSERT_EQ(maps.size(), 3u);
  EXPECT_EQ(maps[0].extents.size(), 2u);
  EXPECT_EQ(maps[0].extents[0].volume_offset, 1u << 20);
  EXPECT_EQ(maps[1].status.code(), Status::Code::kTooLarge);
  EXPECT_EQ(maps[1].status.message(), "file 13 has 2000 extents");
  auto files = std::get<HelperCall>(RoundTrip(Samples()[5]));
  EXPECT_EQ(files.inos, (std::vector<uint64_t>{12, 1ull << 40}));
  EXPECT_EQ(files.max_extents, kMaxBatchExtents);
  auto call = std::get<HelperCall>(RoundTrip(Samples()[0]));
  EXPECT_EQ(call.fs_type, FsType::kNtfs);
  EXPECT_EQ(call.volume_size, 1ull << 40);
  EXPECT_EQ(call.name, "vg0-root");
}

TEST(HelperProtocolTest, EveryTruncationIsAnError) {
  for (const HelperMessage& m : Samples()) {
    std::string payload = Payload(m);
    for (size_t n = 0; n < payload.size(); ++n) {
      auto r = DecodeMessage(payload.substr(0, n));
      EXPECT_TRUE(r.status().IsCorruption()) << n << " of " << payload.size();
    }
    EXPECT_EQ(DecodeMessage(payload + "x").status().message(),
              "guest helper frame has 1 unexpected trailing bytes");
  }
}

TEST(HelperProtocolTest, OversizedFrameIsRefusedByItsHeader) {
  EXPECT_EQ(DecodeFrameHeader(std::string("\x01\x00\x00\x04", 4)).status().ToString(),
            "Corruption: guest helper frame: length 67108865 is over the 64 MiB limit");
  EXPECT_OK(DecodeFrameHeader(std::string("\x00\x00\x00\x04", 4)).status());
  EXPECT_TRUE(DecodeFrameHeader(std::string("\0\0\0\0", 4)).status().IsCorruption());
}

TEST(HelperProtocolTest, BadFieldsAreNamed) {
  auto message = [](std::string payload) { return DecodeMessage(payload).status().message(); };
  EXPECT_EQ(message("\x09"), "guest helper frame: unknown message type 9");
  EXPECT_EQ(message("\x01\x0c"), "guest helper frame: unknown call 12");
  // A listing of more directories than one call may ask, as a call and as a reply.
  HelperCall many;
  many.op = HelperOp::kReadDirs;
  many.inos.assign(kMaxBatchDirs + 1, 2);
  EXPECT_EQ(message(Payload(many)), "guest helper frame: a listing of 65 directories");
  HelperReply too_many{Status::OK(), std::vector<DirListing>(kMaxBatchDirs + 1)};
  EXPECT_EQ(message(Payload(too_many)), "guest helper frame: a reply of 65 listings");
  HelperReply bad_inside{Status::OK(),
                         std::vector<DirListing>{{2, Status::OK(), {{"..", 1, 0, std::nullopt}}}}};
  EXPECT_EQ(message(Payload(bad_inside)), "guest helper frame: directory entry 0 has a bad name");
  // The same for maps of files, and for maps longer than a batch may carry.
  HelperCall many_files;
  many_files.op = HelperOp::kMapFiles;
  many_files.inos.assign(kMaxBatchFiles + 1, 12);
  EXPECT_EQ(message(Payload(many_files)), "guest helper frame: a map of 65 files");
  HelperCall long_maps;
  long_maps.op = HelperOp::kMapFiles;
  long_maps.inos = {12};
  long_maps.max_extents = kMaxBatchExtents + 1;
  EXPECT_EQ(message(Payload(long_maps)), "guest helper frame: a map of up to 1025 extents a file");
  HelperReply too_many_maps{Status::OK(), std::vector<FileMap>(kMaxBatchFiles + 1)};
  EXPECT_EQ(message(Payload(too_many_maps)), "guest helper frame: a reply of 65 file maps");
  HelperReply long_map{
      Status::OK(),
      std::vector<FileMap>{{12, Status::OK(), std::vector<FileExtent>(kMaxBatchExtents + 1)}}};
  EXPECT_EQ(message(Payload(long_map)), "guest helper frame: a file map of 1025 extents");
  EXPECT_EQ(message(std::string("\x01\x01\x20\x00\x00", 5)),
            "guest helper frame: unknown filesystem type 32");
  EXPECT_EQ(message(std::string("\x03\x00\x81\x80\x80\x02", 6)),
            "guest helper frame: volume read of 4194305 bytes is over the limit");
  EXPECT_EQ(message("\x04\x63"), "guest helper frame: unknown status code 99");
  // A reply of 1000 directory entries in a 4-byte frame.
  EXPECT_EQ(message(std::string("\x04\x00\x03\xe8\x07", 5)),
            "guest helper frame: directory entry count 1000 is past the frame");
  FileAttr other;
  other.ino = 2;
  HelperReply mixed{Status::OK(), std::vector<DirEntry>{{"a", 1, 0, other}}};
  EXPECT_EQ(message(Payload(mixed)),
            "guest helper frame: directory entry 0 has another inode's attributes");
  HelperReply slash{Status::OK(), std::vector<DirEntry>{{"a/b", 1, 0, std::nullopt}}};
  EXPECT_EQ(message(Payload(slash)), "guest helper frame: directory entry 0 has a bad name");
  HelperReply dot{Status::OK(), std::vector<DirEntry>{{"..", 1, 0, std::nullopt}}};
  EXPECT_EQ(message(Payload(dot)), "guest helper frame: directory entry 0 has a bad name");
  std::string kind = Payload(HelperReply{Status::OK(), std::vector<FileExtent>{{}}});
  kind[kind.size() - 2] = 9;  // the extent's kind byte
  EXPECT_EQ(message(kind), "guest helper frame: unknown extent kind 9");
  EXPECT_EQ(message(std::string("\x04\x00\x00", 3)),
            "guest helper frame: an OK reply carries no payload");
}

}  // namespace
}  // namespace rpfs::guest
