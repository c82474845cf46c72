# Install layout (`cmake --install`) and the Debian package (`cpack -G DEB`, or the `package`
# target). docs/install.md says how to build, install and check both.
#
#   <prefix>/bin                      flowdriftd, flowdriftctl (daemon/CMakeLists.txt)
#   <prefix>/lib/systemd/system       flowdriftd.service, its paths rewritten for <prefix>
#   <sysconfdir>/flowdrift            flowdrift.yaml (the example; never overwritten once there)
#   <sysconfdir>/default/flowdrift    FLOWDRIFTD_ARGS for the unit (likewise never overwritten)
#   <prefix>/share/flowdrift/queries  the audit queries of docs/schema.md as .sql files
#   <prefix>/share/flowdrift/render-rules.sh  the alert rules with another runbook base and job
#   <prefix>/share/doc/flowdrift      README, copyright (DEP-5), docs/*.md, examples/ (configs, alert rules,
#                                     Alertmanager routing, Grafana dashboard, systemd drop-ins)
#
# With -DCMAKE_INSTALL_PREFIX=/usr (what the .deb needs) sysconfdir is /etc, as GNUInstallDirs
# has it; with the default /usr/local it is /usr/local/etc.
include(GNUInstallDirs)

set(FLOWDRIFT_CONFIG_DIR "${CMAKE_INSTALL_FULL_SYSCONFDIR}/flowdrift")
set(FLOWDRIFT_DEFAULT_FILE "${CMAKE_INSTALL_FULL_SYSCONFDIR}/default/flowdrift")
set(FLOWDRIFT_UNIT_DIR "lib/systemd/system")  # under the prefix; systemd reads /usr/local/lib/systemd/system too

# The unit names /usr/bin/flowdriftd, /etc/flowdrift/, /etc/default/flowdrift and
# /usr/share/doc/flowdrift/; point them
# at this prefix's layout (for /usr the installed unit is the source file unchanged).
set(unit_src ${PROJECT_SOURCE_DIR}/systemd/flowdriftd.service)
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${unit_src})
file(READ ${unit_src} unit)
string(REPLACE "/usr/bin/flowdriftd" "${CMAKE_INSTALL_FULL_BINDIR}/flowdriftd" unit "${unit}")
string(REPLACE "/etc/flowdrift/" "${FLOWDRIFT_CONFIG_DIR}/" unit "${unit}")
string(REPLACE "/etc/default/flowdrift" "${FLOWDRIFT_DEFAULT_FILE}" unit "${unit}")
string(REPLACE "/usr/share/doc/flowdrift/" "${CMAKE_INSTALL_FULL_DOCDIR}/" unit "${unit}")
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/packaging/flowdriftd.service CONTENT "${unit}")
install(FILES ${PROJECT_BINARY_DIR}/packaging/flowdriftd.service DESTINATION ${FLOWDRIFT_UNIT_DIR})

# The config and the flags file: a changed one is an operator's, so a later `cmake --install`
# leaves it alone (the .deb marks both conffiles, so dpkg does the same on upgrade). The example
# config stays in the docs.
function(flowdrift_install_once src dest)
  get_filename_component(dir "${dest}" DIRECTORY)
  get_filename_component(name "${dest}" NAME)
  install(CODE "
    set(dest \"\$ENV{DESTDIR}${dest}\")
    if(EXISTS \"\${dest}\")
      message(STATUS \"Keeping existing: \${dest}\")
    else()
      # file(INSTALL) puts DESTDIR in front of the destination itself, as install() does.
      file(INSTALL \"${src}\" DESTINATION \"${dir}\" RENAME ${name}
           PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
    endif()")
endfunction()
flowdrift_install_once(${PROJECT_SOURCE_DIR}/config/flowdrift.example.yaml
                       ${FLOWDRIFT_CONFIG_DIR}/flowdrift.yaml)
flowdrift_install_once(${PROJECT_SOURCE_DIR}/systemd/flowdrift.default ${FLOWDRIFT_DEFAULT_FILE})

# The audit queries of docs/schema.md as .sql files for the sqlite3 shell's .read, made from the
# doc at build time (scripts/audit-queries.sh), so the two cannot differ.
set(queries_dir ${PROJECT_BINARY_DIR}/queries)
set(queries_installed ${CMAKE_INSTALL_FULL_DATADIR}/flowdrift/queries)
add_custom_command(OUTPUT ${queries_dir}/.stamp
                   COMMAND ${PROJECT_SOURCE_DIR}/scripts/audit-queries.sh
                           ${PROJECT_SOURCE_DIR}/docs/schema.md ${queries_dir} ${queries_installed}
                   COMMAND ${CMAKE_COMMAND} -E touch ${queries_dir}/.stamp
                   DEPENDS ${PROJECT_SOURCE_DIR}/docs/schema.md ${PROJECT_SOURCE_DIR}/scripts/audit-queries.sh
                   COMMENT "audit queries from docs/schema.md" VERBATIM)
add_custom_target(audit_queries ALL DEPENDS ${queries_dir}/.stamp)
install(DIRECTORY ${queries_dir}/ DESTINATION ${CMAKE_INSTALL_DATADIR}/flowdrift/queries
        FILES_MATCHING PATTERN "*.sql")

file(GLOB doc_pages CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/docs/*.md)
install(FILES ${PROJECT_SOURCE_DIR}/README.md ${doc_pages} ${PROJECT_SOURCE_DIR}/docs/dashboard.png
        DESTINATION ${CMAKE_INSTALL_DOCDIR})
# Debian's machine-readable copyright file (the licence text itself is LICENSE at the root), and
# the changelog, gzipped as Debian policy has it (-n: no name or time in it, so reproducible).
install(FILES ${PROJECT_SOURCE_DIR}/systemd/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
# Another runbook base and job selector for the alert rules (docs/alerting.md).
install(PROGRAMS ${PROJECT_SOURCE_DIR}/scripts/render-rules.sh DESTINATION ${CMAKE_INSTALL_DATADIR}/flowdrift)
# lintian's overrides, each with its reason (scripts/check-deb.sh fails on any other tag).
install(FILES ${PROJECT_SOURCE_DIR}/systemd/debian/lintian-overrides
        DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides RENAME flowdrift)
set(changelog_gz ${PROJECT_BINARY_DIR}/packaging/changelog.gz)
add_custom_command(OUTPUT ${changelog_gz}
                   COMMAND sh -c "gzip -9n < \"$1\" > \"$2\"" sh
                           ${PROJECT_SOURCE_DIR}/systemd/debian/changelog ${changelog_gz}
                   DEPENDS ${PROJECT_SOURCE_DIR}/systemd/debian/changelog VERBATIM)
add_custom_target(changelog ALL DEPENDS ${changelog_gz})
install(FILES ${changelog_gz} DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(FILES ${PROJECT_SOURCE_DIR}/config/flowdrift.example.yaml
              ${PROJECT_SOURCE_DIR}/config/minimal.yaml
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/config/prometheus ${PROJECT_SOURCE_DIR}/config/alertmanager
                  ${PROJECT_SOURCE_DIR}/config/grafana
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(DIRECTORY ${PROJECT_SOURCE_DIR}/systemd/examples/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples/systemd)

# --- CPack: one .deb for Debian 12 ---------------------------------------------------------
set(FLOWDRIFT_PACKAGE_CONTACT "flowdrift maintainers <maintainers@users.noreply.r-seed-c42486b2.example>"
    CACHE STRING "Maintainer field of the .deb")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME flowdrift)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${FLOWDRIFT_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "Nutanix Flow security policy drift daemon")
# Lines of at most 79 characters (lintian: extended-description-line-too-long).
set(CPACK_PACKAGE_DESCRIPTION
    "flowdriftd polls the Prism Centrals of a primary and a disaster-recovery\n"
    "site, stores versioned policy snapshots in SQLite, reports drift between\n"
    "each pair and exposes it on a Prometheus /metrics endpoint. flowdriftctl\n"
    "diffs site exports, plans and applies repairs and reads the audit trail.\n"
    "The service is installed but neither enabled nor started.")
string(REPLACE ";" "" CPACK_PACKAGE_DESCRIPTION "${CPACK_PACKAGE_DESCRIPTION}")
set(CPACK_PACKAGING_INSTALL_PREFIX "${CMAKE_INSTALL_PREFIX}")
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # flowdrift_<version>_<arch>.deb
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies come from dpkg-shlibdeps on the built binaries (libboost-*, libssl3,
# libyaml-cpp0.7, libsqlite3-0, libsystemd0, ...); ca-certificates backs the default CA store
# and the example config's ca_file.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "ca-certificates")
# postinst: daemon-reload only (no enable, no start, no restart on upgrade); prerm: stop and
# disable on removal; postrm: on purge, delete the database. conffiles: the config and the
# flags file.
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/packaging/conffiles
     CONTENT "${FLOWDRIFT_CONFIG_DIR}/flowdrift.yaml\n${FLOWDRIFT_DEFAULT_FILE}\n")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${PROJECT_BINARY_DIR}/packaging/conffiles
    ${PROJECT_SOURCE_DIR}/systemd/debian/postinst
    ${PROJECT_SOURCE_DIR}/systemd/debian/prerm
    ${PROJECT_SOURCE_DIR}/systemd/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# The package's paths (unit, conffile, maintainer scripts) assume /usr and /etc: refuse to
# build a .deb from a tree configured for another prefix instead of shipping a broken one.
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/packaging/CPackProjectConfig.cmake CONTENT "
if(CPACK_GENERATOR STREQUAL \"DEB\" AND NOT \"${CMAKE_INSTALL_PREFIX}\" STREQUAL \"/usr\")
  message(FATAL_ERROR \"flowdrift: the .deb needs a build configured with \"
    \"-DCMAKE_INSTALL_PREFIX=/usr (this one has ${CMAKE_INSTALL_PREFIX})\")
endif()
")
set(CPACK_PROJECT_CONFIG_FILE ${PROJECT_BINARY_DIR}/packaging/CPackProjectConfig.cmake)

include(CPack)
