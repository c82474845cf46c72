# Man pages and shell completion (scripts/manpages.sh, completion/), built with the binaries and
# installed by `cmake --install` and the .deb:
#   <prefix>/share/man/man8/flowdriftd.8.gz, man1/flowdriftctl.1.gz, man5/flowdrift.yaml.5.gz
#   <prefix>/share/bash-completion/completions/flowdriftctl, flowdriftd
#   <prefix>/share/zsh/vendor-completions/_flowdrift
# help2man and go-md2man are build dependencies (scripts/install-deps.sh).
include(GNUInstallDirs)
find_program(HELP2MAN help2man REQUIRED)
find_program(GO_MD2MAN go-md2man REQUIRED)

set(man_dir ${PROJECT_BINARY_DIR}/man)
set(man_pages ${man_dir}/flowdriftd.8.gz ${man_dir}/flowdriftctl.1.gz ${man_dir}/flowdrift.yaml.5.gz)
add_custom_command(
  OUTPUT ${man_pages}
  COMMAND ${PROJECT_SOURCE_DIR}/scripts/manpages.sh ${man_dir} $<TARGET_FILE:flowdriftd>
          $<TARGET_FILE:flowdriftctl> ${PROJECT_VERSION}
  DEPENDS flowdriftd flowdriftctl ${PROJECT_SOURCE_DIR}/scripts/manpages.sh
          ${PROJECT_SOURCE_DIR}/docs/configuration.md ${PROJECT_SOURCE_DIR}/docs/man/flowdriftd.h2m
          ${PROJECT_SOURCE_DIR}/docs/man/flowdriftctl.h2m
          ${PROJECT_SOURCE_DIR}/docs/man/flowdrift.yaml.5.head.md
  COMMENT "man pages: flowdriftd(8), flowdriftctl(1), flowdrift.yaml(5)" VERBATIM)
add_custom_target(manpages ALL DEPENDS ${man_pages})

install(FILES ${man_dir}/flowdriftd.8.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man8)
install(FILES ${man_dir}/flowdriftctl.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
install(FILES ${man_dir}/flowdrift.yaml.5.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man5)
install(FILES ${PROJECT_SOURCE_DIR}/completion/flowdrift.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME flowdriftctl)
install(FILES ${PROJECT_SOURCE_DIR}/completion/flowdrift.bash
        DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions RENAME flowdriftd)
install(FILES ${PROJECT_SOURCE_DIR}/completion/_flowdrift
        DESTINATION ${CMAKE_INSTALL_DATADIR}/zsh/vendor-completions)
