# flowdrift_options: warnings, definitions and hardening shared by every target.
add_library(flowdrift_options INTERFACE)
target_compile_options(flowdrift_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Woverloaded-virtual
  -Wimplicit-fallthrough -Wformat=2 -fstack-protector-strong
  # g++ 12 at -O2 false positives: -Warray-bounds inside nlohmann::json (JSON_DIAGNOSTICS),
  # -Wmismatched-new-delete on Asio's coroutine frames (its recycling allocator pairs them).
  -Wno-array-bounds -Wno-mismatched-new-delete)
if(FLOWDRIFT_WERROR)
  target_compile_options(flowdrift_options INTERFACE -Werror)
endif()
# JSON_DIAGNOSTICS (JSON pointers in nlohmann's exception texts) in Debug only: it keeps a parent
# pointer in every value and re-links them on every insertion, which made parsing and freeing
# the policy pages measurably slower in the poll cycle (tests/bench). Our own messages name the
# place themselves (normalize_v3/v4 paths).
target_compile_definitions(flowdrift_options INTERFACE
  BOOST_ASIO_NO_DEPRECATED
  $<$<CONFIG:Debug>:JSON_DIAGNOSTICS=1>
  $<$<NOT:$<CONFIG:Debug>>:_FORTIFY_SOURCE=2>)
target_link_options(flowdrift_options INTERFACE -Wl,-z,relro,-z,now)

if(FLOWDRIFT_SANITIZE)
  if(FLOWDRIFT_SANITIZE MATCHES "thread" AND FLOWDRIFT_SANITIZE MATCHES "address")
    message(FATAL_ERROR "FLOWDRIFT_SANITIZE: address and thread cannot be combined")
  endif()
  target_compile_options(flowdrift_options INTERFACE
    -fsanitize=${FLOWDRIFT_SANITIZE} -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(flowdrift_options INTERFACE -fsanitize=${FLOWDRIFT_SANITIZE})
endif()

if(FLOWDRIFT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "FLOWDRIFT_FUZZ needs clang (libFuzzer): -DCMAKE_CXX_COMPILER=clang++")
  endif()
  # Every library is instrumented for coverage and checked by ASan and UBSan; the fuzz targets
  # link libFuzzer's main (tests/fuzz/CMakeLists.txt).
  target_compile_options(flowdrift_options INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
    -fno-omit-frame-pointer)
  target_link_options(flowdrift_options INTERFACE -fsanitize=address,undefined)
endif()
